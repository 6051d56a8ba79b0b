import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.listOpenWebUiConnections, async ({ params, principal, services }) => ({
  status: 200,
  body: { items: await (await services()).openWebUi.list(principal, params.tenantId) },
}));
