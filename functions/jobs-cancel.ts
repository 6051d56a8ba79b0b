import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { durableOrchestrations } from '../shared/jobs/durable-orchestrations';
import { toJobView } from '../shared/jobs/job';
import { uses } from '../shared/services';

registerRoute(
  routes.cancelJob,
  uses('jobs', 'usageService'),
  ({ jobs, usageService }) =>
    async ({ params, principal, context }) => {
      const job = await jobs.cancel(principal, params.jobId, durableOrchestrations(context));
      return { status: 202, body: toJobView(job), headers: await usageService.headers(principal, job) };
    },
);
