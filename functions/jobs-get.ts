import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { toJobView } from '../shared/jobs/job';

registerRoute(routes.getJob, async ({ params, principal, services }) => {
  const { jobs, usageService } = await services();
  const job = await jobs.get(principal, params.jobId);
  return { status: 200, body: toJobView(job), headers: await usageService.headers(principal, job) };
});
