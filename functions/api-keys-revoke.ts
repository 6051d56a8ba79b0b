import { routes } from '../shared/api/routes';
import { toApiKeyView } from '../shared/auth/api-keys';
import { AppError } from '../shared/errors';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.revokeApiKey, uses('apiKeys'), ({ apiKeys }) => async ({ params, principal }) => {
  const at = new Date().toISOString();
  const revoked = await apiKeys.revoke(principal.tenantId, principal.userId, params.keyId, at);
  if (!revoked) throw new AppError('not_found', `API key ${params.keyId} was not found.`);
  return { status: 200, body: toApiKeyView(revoked) };
});
