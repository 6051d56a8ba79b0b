import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';
import { durableDeliveries } from '../shared/webhooks/durable-deliveries';
import { toDeliveryView } from '../shared/webhooks/webhook';

registerRoute(
  routes.redeliverWebhook,
  uses('webhooks'),
  ({ webhooks }) =>
    async ({ params, principal, context }) => {
      const deliveries = durableDeliveries(context);
      const delivery = await webhooks.redeliver(principal, params.webhookId, params.deliveryId, deliveries);
      return { status: 202, body: toDeliveryView(delivery) };
    },
);
