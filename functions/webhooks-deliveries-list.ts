import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { toDeliveryView } from '../shared/webhooks/webhook';

registerRoute(routes.listWebhookDeliveries, async ({ params, query, principal, services }) => {
  const page = await (await services()).webhooks.deliveries(principal, params.webhookId, query);
  return { status: 200, body: { items: page.items.map(toDeliveryView), nextCursor: page.nextCursor } };
});
