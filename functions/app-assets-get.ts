import '../shared/app-setup';
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { progressPageAsset, progressPageAssets } from '../shared/web/progress-page';

/** Static files of the progress page; anything not on the allow-list is 404. */
export function appAssetsGet(request: HttpRequest): HttpResponseInit {
  const name = request.params.file ?? '';
  const content = progressPageAsset(name);
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
      'content-type': progressPageAssets[name] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    },
    body: content,
  };
}

app.http('app-assets-get', {
  route: 'app/assets/{file}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: appAssetsGet,
});
