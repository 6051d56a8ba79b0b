import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.listAlerts, async ({ query, principal, services }) => ({
  status: 200,
  body: await (await services()).alerts.list(principal, query),
}));
