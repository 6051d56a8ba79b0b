import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { durableOrchestrations } from '../shared/jobs/durable-orchestrations';
import { toJobView } from '../shared/jobs/job';
import { noteJob } from '../shared/telemetry/telemetry';

registerRoute(routes.createJob, async ({ body, principal, request, context, services }) => {
  const { jobs, usageService } = await services();
  const idempotencyKey = request.headers.get('idempotency-key') ?? undefined;
  const job = await jobs.create(principal, body, durableOrchestrations(context), idempotencyKey);
  noteJob(job.id);
  const view = toJobView(job);
  const usageHeaders = await usageService.headers(principal, job);
  return { status: 202, body: view, headers: { location: view.links.self, ...usageHeaders } };
});
