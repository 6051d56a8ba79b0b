import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { toJobView } from '../shared/jobs/job';
import { uses } from '../shared/services';

registerRoute(
  routes.getJob,
  uses('jobs', 'usageService'),
  ({ jobs, usageService }) =>
    async ({ params, principal }) => {
      const job = await jobs.get(principal, params.jobId);
      return { status: 200, body: toJobView(job), headers: await usageService.headers(principal, job) };
    },
);
