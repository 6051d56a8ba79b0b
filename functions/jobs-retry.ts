import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { durableOrchestrations } from '../shared/jobs/durable-orchestrations';
import { toJobView } from '../shared/jobs/job';

registerRoute(routes.retryJob, async ({ params, principal, context, services }) => {
  const { failedJobs, usageService } = await services();
  const job = await failedJobs.retry(principal, params.jobId, durableOrchestrations(context));
  const view = toJobView(job);
  const usageHeaders = await usageService.headers(principal, job);
  return { status: 202, body: view, headers: { location: view.links.self, ...usageHeaders } };
});
