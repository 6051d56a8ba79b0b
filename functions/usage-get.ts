import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.getUsage, async ({ principal, services }) => {
  const day = new Date().toISOString().slice(0, 10);
  const month = day.slice(0, 7);
  const { usage } = await services();
  const [today, thisMonth] = await Promise.all([
    usage.userTotals(principal.tenantId, principal.userId, day, day),
    usage.userTotals(principal.tenantId, principal.userId, `${month}-01`, `${month}-31`),
  ]);
  return { status: 200, body: { today: { ...today, day }, month: { ...thisMonth, month } } };
});
