import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.negotiateJob, uses('progress'), ({ progress }) => async ({ params, principal }) => ({
  status: 200,
  body: await progress.negotiate(principal, params.jobId),
}));
