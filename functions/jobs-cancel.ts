import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { durableOrchestrations } from '../shared/jobs/durable-orchestrations';
import { toJobView } from '../shared/jobs/job';

registerRoute(routes.cancelJob, async ({ params, principal, context, services }) => {
  const { jobs, usageService } = await services();
  const job = await jobs.cancel(principal, params.jobId, durableOrchestrations(context));
  return { status: 202, body: toJobView(job), headers: await usageService.headers(principal, job) };
});
