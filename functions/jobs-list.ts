import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { toJobView } from '../shared/jobs/job';

registerRoute(routes.listJobs, async ({ query, principal, services }) => {
  const page = await (await services()).jobs.list(principal, query);
  return {
    status: 200,
    body: { items: page.items.map(toJobView), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) },
  };
});
