import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.getUsage, async ({ principal, services }) => ({
  status: 200,
  body: await (await services()).usageService.summary(principal),
}));
