import { routes } from '../shared/api/routes';
import { toApiKeyView } from '../shared/auth/api-keys';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.listApiKeys, uses('apiKeys'), ({ apiKeys }) => async ({ principal }) => {
  const records = await apiKeys.listForUser(principal.tenantId, principal.userId);
  return { status: 200, body: { items: records.map(toApiKeyView) } };
});
