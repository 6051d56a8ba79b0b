import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { durableOrchestrations } from '../shared/jobs/durable-orchestrations';
import { toJobView } from '../shared/jobs/job';

registerRoute(routes.approveJob, async ({ params, body, principal, context, services }) => ({
  status: 202,
  body: toJobView(
    await (await services()).jobs.approve(principal, params.jobId, body, durableOrchestrations(context)),
  ),
}));
