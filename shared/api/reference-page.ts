import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Swagger UI files served by the app itself (the service may run where no CDN is reachable). */
export const referenceAssets: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const assetRoot = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const assetCache = new Map<string, Buffer>();

/** The bytes of an allow-listed asset, read once; undefined for anything else. */
export function referenceAsset(name: string): Buffer | undefined {
  if (!Object.hasOwn(referenceAssets, name)) return undefined;
  let content = assetCache.get(name);
  if (!content) {
    content = readFileSync(path.join(assetRoot, name));
    assetCache.set(name, content);
  }
  return content;
}

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
