import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { toJobView } from '../shared/jobs/job';
import { uses } from '../shared/services';

registerRoute(routes.listJobs, uses('jobs'), ({ jobs }) => async ({ query, principal }) => {
  const page = await jobs.list(principal, query);
  return {
    status: 200,
    body: { items: page.items.map(toJobView), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) },
  };
});
