import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { toWebhookView } from '../shared/webhooks/webhook';

registerRoute(routes.createWebhook, async ({ body, principal, services }) => {
  const { document, secret } = await (await services()).webhooks.create(principal, body);
  return {
    status: 201,
    body: { ...toWebhookView(document), secret },
    headers: { location: `/api/v1/webhooks/${document.webhookId}`, 'cache-control': 'no-store' },
  };
});
