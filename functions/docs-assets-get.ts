import '../shared/app-setup';
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { referenceAsset, referenceAssets } from '../shared/api/reference-page';

/** Static files of the API reference page; anything not on the allow-list is 404. */
export function docsAssetsGet(request: HttpRequest): HttpResponseInit {
  const name = request.params.file ?? '';
  const content = referenceAsset(name);
  if (!content) {
    return {
      status: 404,
      headers: { 'content-type': 'application/problem+json' },
      jsonBody: { status: 404, code: 'not_found', title: 'Not Found', detail: `No asset ${name}.` },
    };
  }
  return {
    status: 200,
    headers: {
      'content-type': referenceAssets[name] ?? 'application/octet-stream',
      'cache-control': 'public, max-age=86400',
    },
    body: content,
  };
}

app.http('docs-assets-get', {
  route: 'docs/assets/{file}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: docsAssetsGet,
});
