import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.listJobMessages,
  uses('conversations'),
  ({ conversations }) =>
    async ({ params, query, principal }) => ({
      status: 200,
      body: await conversations.history(principal, params.jobId, query),
    }),
);
