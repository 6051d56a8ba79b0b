import { routes } from '../shared/api/routes';
import { toApiKeyView } from '../shared/auth/api-keys';
import { AppError } from '../shared/errors';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.revokeApiKey,
  uses('apiKeys', 'audit'),
  ({ apiKeys, audit }) =>
    async ({ params, principal }) => {
      const owned = await apiKeys.findOwn(principal.tenantId, principal.userId, params.keyId);
      if (!owned) throw new AppError('not_found', `API key ${params.keyId} was not found.`);
      const at = new Date().toISOString();
      const revoked = await audit.recorded(
        {
          tenantId: principal.tenantId,
          action: 'api_key.revoked',
          target: { type: 'apiKey', id: params.keyId },
        },
        () => apiKeys.revoke(principal.tenantId, principal.userId, params.keyId, at),
      );
      if (!revoked) throw new AppError('not_found', `API key ${params.keyId} was not found.`);
      return { status: 200, body: toApiKeyView(revoked) };
    },
);
