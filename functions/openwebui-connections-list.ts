import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.listOpenWebUiConnections,
  uses('openWebUi'),
  ({ openWebUi }) =>
    async ({ params, principal }) => ({
      status: 200,
      body: { items: await openWebUi.list(principal, params.tenantId) },
    }),
);
