import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { durableOrchestrations } from '../shared/jobs/durable-orchestrations';
import { toJobView } from '../shared/jobs/job';
import { uses } from '../shared/services';

registerRoute(
  routes.retryJob,
  uses('failedJobs', 'usageService'),
  ({ failedJobs, usageService }) =>
    async ({ params, principal, context }) => {
      const job = await failedJobs.retry(principal, params.jobId, durableOrchestrations(context));
      const view = toJobView(job);
      const usageHeaders = await usageService.headers(principal, job);
      return { status: 202, body: view, headers: { location: view.links.self, ...usageHeaders } };
    },
);
