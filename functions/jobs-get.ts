import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { toJobView } from '../shared/jobs/job';

registerRoute(routes.getJob, async ({ params, principal, services }) => ({
  status: 200,
  body: toJobView(await (await services()).jobs.get(principal, params.jobId)),
}));
