import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.getUsage, uses('usageService'), ({ usageService }) => async ({ principal }) => ({
  status: 200,
  body: await usageService.summary(principal),
}));
