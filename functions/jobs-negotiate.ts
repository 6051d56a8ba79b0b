import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.negotiateJob, async ({ params, principal, services }) => ({
  status: 200,
  body: await (await services()).progress.negotiate(principal, params.jobId),
}));
