import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.deleteTrustPolicy,
  uses('trustPolicies'),
  ({ trustPolicies }) =>
    async ({ params, principal }) => {
      await trustPolicies.delete(principal, params.policyId);
      return { status: 204 };
    },
);
