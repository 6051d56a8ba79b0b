import { documentedRoutes } from '../shared/api/openapi';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';
import { progressPageHtml } from '../shared/web/progress-page';

const spec = documentedRoutes.find((route) => route.operationId === 'getProgressPage');
if (!spec) throw new Error('The progress page route is not documented.');

registerRoute(spec, uses(), () => () => ({
  status: 200,
  raw: {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      // Scripts only from this origin; the WebSocket may go to the Web PubSub endpoint, wherever it is.
      'content-security-policy':
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; frame-ancestors 'none'",
    },
    body: progressPageHtml(),
  },
}));
