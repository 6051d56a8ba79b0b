import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.listTrustPolicies,
  uses('trustPolicies'),
  ({ trustPolicies }) =>
    async ({ principal }) => ({
      status: 200,
      body: { items: await trustPolicies.list(principal) },
    }),
);
