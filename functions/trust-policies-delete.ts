import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.deleteTrustPolicy, async ({ params, principal, services }) => {
  await (await services()).trustPolicies.delete(principal, params.policyId);
  return { status: 204 };
});
