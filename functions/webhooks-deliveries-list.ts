import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';
import { toDeliveryView } from '../shared/webhooks/webhook';

registerRoute(
  routes.listWebhookDeliveries,
  uses('webhooks'),
  ({ webhooks }) =>
    async ({ params, query, principal }) => {
      const page = await webhooks.deliveries(principal, params.webhookId, query);
      return { status: 200, body: { items: page.items.map(toDeliveryView), nextCursor: page.nextCursor } };
    },
);
