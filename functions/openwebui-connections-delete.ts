import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.deleteOpenWebUiConnection,
  uses('openWebUi'),
  ({ openWebUi }) =>
    async ({ params, principal }) => {
      await openWebUi.delete(principal, params.tenantId, params.connectionId);
      return { status: 204 };
    },
);
