import { blobEndpointOrigin } from '../shared/adapters/blob-client';
import { documentedRoutes } from '../shared/api/openapi';
import { getConfig } from '../shared/config';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';
import { progressPageHtml } from '../shared/web/progress-page';

const spec = documentedRoutes.find((route) => route.operationId === 'getProgressPage');
if (!spec) throw new Error('The progress page route is not documented.');
const uploadOrigin = blobEndpointOrigin(getConfig());

registerRoute(spec, uses(), () => () => ({
  status: 200,
  raw: {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      // Scripts only from this origin; the WebSocket may go to the Web PubSub endpoint, wherever it is;
      // mockups are PUT straight to Blob Storage.
      'content-security-policy': `default-src 'self'; connect-src 'self' ${uploadOrigin} ws: wss:; img-src 'self' data: blob:; frame-ancestors 'none'`,
    },
    body: progressPageHtml(),
  },
}));
