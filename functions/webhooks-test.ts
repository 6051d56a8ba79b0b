import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { durableDeliveries } from '../shared/webhooks/durable-deliveries';
import { toDeliveryView } from '../shared/webhooks/webhook';

registerRoute(routes.testWebhook, async ({ params, principal, context, services }) => {
  const delivery = await (
    await services()
  ).webhooks.test(principal, params.webhookId, durableDeliveries(context));
  return { status: 202, body: toDeliveryView(delivery) };
});
