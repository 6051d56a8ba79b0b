import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';
import { toWebhookView } from '../shared/webhooks/webhook';

registerRoute(routes.createWebhook, uses('webhooks'), ({ webhooks }) => async ({ body, principal }) => {
  const { document, secret } = await webhooks.create(principal, body);
  return {
    status: 201,
    body: { ...toWebhookView(document), secret },
    headers: { location: `/api/v1/webhooks/${document.webhookId}`, 'cache-control': 'no-store' },
  };
});
