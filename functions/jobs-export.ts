import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.exportJob,
  uses('jobExports'),
  ({ jobExports }) =>
    async ({ params, query, principal }) => ({
      status: 200,
      body: await jobExports.export(principal, params.jobId, query),
    }),
);
