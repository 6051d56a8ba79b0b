import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.listAlerts, uses('alerts'), ({ alerts }) => async ({ query, principal }) => ({
  status: 200,
  body: await alerts.list(principal, query),
}));
