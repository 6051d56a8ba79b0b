import path from 'node:path';
import { StaticAssets } from '../http/static-assets';

/** Swagger UI's files, from the `swagger-ui-dist` package. */
export const referenceAssets = new StaticAssets(
  path.dirname(require.resolve('swagger-ui-dist/package.json')),
  { 'swagger-ui.css': 'text/css; charset=utf-8', 'swagger-ui-bundle.js': 'text/javascript; charset=utf-8' },
  'public, max-age=86400',
);

/** The interactive API reference: Swagger UI over `/openapi.json`, with "Try it out" against this service. */
export function apiReferencePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>user-story-agent API reference</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <main id="reference" aria-label="API reference"></main>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.addEventListener('load', function () {
      window.SwaggerUIBundle({ url: '/openapi.json', dom_id: '#reference', deepLinking: true, persistAuthorization: true });
    });
  </script>
</body>
</html>`;
}
