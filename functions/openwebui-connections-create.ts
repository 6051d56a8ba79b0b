import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.createOpenWebUiConnection, async ({ params, body, principal, services }) => {
  const created = await (await services()).openWebUi.create(principal, params.tenantId, body);
  return { status: 201, body: created, headers: { 'cache-control': 'no-store' } };
});
