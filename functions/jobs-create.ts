import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { durableOrchestrations } from '../shared/jobs/durable-orchestrations';
import { toJobView } from '../shared/jobs/job';

registerRoute(routes.createJob, async ({ body, headers, principal, context, services }) => {
  const { jobs, usageService } = await services();
  const idempotencyKey = headers['idempotency-key'];
  const job = await jobs.create(principal, body, durableOrchestrations(context), idempotencyKey);
  const view = toJobView(job);
  const usageHeaders = await usageService.headers(principal, job);
  return { status: 202, body: view, headers: { location: view.links.self, ...usageHeaders } };
});
