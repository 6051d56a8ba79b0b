import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.deleteOpenWebUiConnection, async ({ params, principal, services }) => {
  await (await services()).openWebUi.delete(principal, params.tenantId, params.connectionId);
  return { status: 204 };
});
