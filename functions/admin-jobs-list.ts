import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { toJobView } from '../shared/jobs/job';

registerRoute(routes.listTenantJobs, async ({ query, principal, services }) => {
  const page = await (await services()).failedJobs.list(principal, query);
  return { status: 200, body: { items: page.items.map(toJobView), nextCursor: page.nextCursor } };
});
