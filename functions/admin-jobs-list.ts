import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { toJobView } from '../shared/jobs/job';
import { uses } from '../shared/services';

registerRoute(routes.listTenantJobs, uses('failedJobs'), ({ failedJobs }) => async ({ query, principal }) => {
  const page = await failedJobs.list(principal, query);
  return { status: 200, body: { items: page.items.map(toJobView), nextCursor: page.nextCursor } };
});
