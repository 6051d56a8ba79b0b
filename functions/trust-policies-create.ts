import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.createTrustPolicy,
  uses('trustPolicies'),
  ({ trustPolicies }) =>
    async ({ body, principal }) => ({
      status: 201,
      body: await trustPolicies.create(principal, body),
    }),
);
