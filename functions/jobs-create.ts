import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { durableOrchestrations } from '../shared/jobs/durable-orchestrations';
import { toJobView } from '../shared/jobs/job';
import { uses } from '../shared/services';
import { noteJob } from '../shared/telemetry/telemetry';

registerRoute(
  routes.createJob,
  uses('jobs', 'usageService'),
  ({ jobs, usageService }) =>
    async ({ body, headers, principal, context }) => {
      const orchestrations = durableOrchestrations(context);
      const job = await jobs.create(principal, body, orchestrations, headers['idempotency-key']);
      noteJob(job.id);
      const view = toJobView(job);
      const usageHeaders = await usageService.headers(principal, job);
      return { status: 202, body: view, headers: { location: view.links.self, ...usageHeaders } };
    },
);
