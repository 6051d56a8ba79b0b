import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { durableOrchestrations } from '../shared/jobs/durable-orchestrations';
import { toJobView } from '../shared/jobs/job';
import { uses } from '../shared/services';

registerRoute(
  routes.approveJob,
  uses('jobs'),
  ({ jobs }) =>
    async ({ params, body, principal, context }) => ({
      status: 202,
      body: toJobView(await jobs.approve(principal, params.jobId, body, durableOrchestrations(context))),
    }),
);
