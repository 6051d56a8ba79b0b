import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { durableDeliveries } from '../shared/webhooks/durable-deliveries';

registerRoute(routes.scanUsageAnomalies, async ({ body, principal, context, services }) => ({
  status: 200,
  body: await (await services()).alerts.scanRequested(principal, body, durableDeliveries(context)),
}));
