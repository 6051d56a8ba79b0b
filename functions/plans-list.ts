import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.listPlans, uses('admin'), ({ admin }) => async ({ principal }) => ({
  status: 200,
  body: { items: await admin.listPlans(principal) },
}));
