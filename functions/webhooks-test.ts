import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';
import { durableDeliveries } from '../shared/webhooks/durable-deliveries';
import { toDeliveryView } from '../shared/webhooks/webhook';

registerRoute(
  routes.testWebhook,
  uses('webhooks'),
  ({ webhooks }) =>
    async ({ params, principal, context }) => {
      const delivery = await webhooks.test(principal, params.webhookId, durableDeliveries(context));
      return { status: 202, body: toDeliveryView(delivery) };
    },
);
