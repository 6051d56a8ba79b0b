import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.changeTenantPlan, async ({ params, body, principal, services }) => {
  const tenant = await (await services()).admin.changeTenantPlan(principal, params.tenantId, body.planId);
  return {
    status: 200,
    body: { tenantId: tenant.tenantId, planId: tenant.planId, updatedAt: tenant.updatedAt },
  };
});
