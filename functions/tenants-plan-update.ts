import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.changeTenantPlan, uses('admin'), ({ admin }) => async ({ params, body, principal }) => {
  const tenant = await admin.changeTenantPlan(principal, params.tenantId, body.planId);
  return {
    status: 200,
    body: { tenantId: tenant.tenantId, planId: tenant.planId, updatedAt: tenant.updatedAt },
  };
});
