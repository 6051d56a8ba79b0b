import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.createOpenWebUiConnection,
  uses('openWebUi'),
  ({ openWebUi }) =>
    async ({ params, body, principal }) => {
      const created = await openWebUi.create(principal, params.tenantId, body);
      return { status: 201, body: created, headers: { 'cache-control': 'no-store' } };
    },
);
