import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';
import { durableDeliveries } from '../shared/webhooks/durable-deliveries';

registerRoute(
  routes.scanUsageAnomalies,
  uses('alerts'),
  ({ alerts }) =>
    async ({ body, principal, context }) => ({
      status: 200,
      body: await alerts.scanRequested(principal, body, durableDeliveries(context)),
    }),
);
