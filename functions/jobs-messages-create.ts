import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { durableOrchestrations } from '../shared/jobs/durable-orchestrations';
import { toJobView } from '../shared/jobs/job';
import { uses } from '../shared/services';
import { noteJob } from '../shared/telemetry/telemetry';

registerRoute(
  routes.postJobMessage,
  uses('conversations', 'usageService'),
  ({ conversations, usageService }) =>
    async ({ params, body, principal, context }) => {
      const job = await conversations.post(principal, params.jobId, body, durableOrchestrations(context));
      noteJob(job.id);
      const view = toJobView(job);
      const usageHeaders = await usageService.headers(principal, job);
      return { status: 202, body: view, headers: { location: view.links.self, ...usageHeaders } };
    },
);
