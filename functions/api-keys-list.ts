import { routes } from '../shared/api/routes';
import { toApiKeyView } from '../shared/auth/api-keys';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.listApiKeys, async ({ principal, services }) => {
  const records = await (await services()).apiKeys.listForUser(principal.tenantId, principal.userId);
  return { status: 200, body: { items: records.map(toApiKeyView) } };
});
