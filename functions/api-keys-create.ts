import { routes } from '../shared/api/routes';
import { issueApiKey, toApiKeyView } from '../shared/auth/api-keys';
import { ALL_USER_SCOPES } from '../shared/auth/scopes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.createApiKey,
  uses('apiKeys', 'audit', 'apiKeyPepper'),
  ({ apiKeys, audit, apiKeyPepper }) =>
    async ({ body, principal }) => {
      const { plaintext, record } = issueApiKey(principal, body, { pepper: apiKeyPepper });
      await audit.recorded(
        {
          tenantId: record.tenantId,
          action: 'api_key.created',
          target: { type: 'apiKey', id: record.keyId },
          details: {
            name: record.name,
            expiresAt: record.expiresAt ?? null,
            scopes: (record.scopes ?? ALL_USER_SCOPES).join(' '),
          },
        },
        () => apiKeys.create(record),
      );
      return {
        status: 201,
        body: { ...toApiKeyView(record), key: plaintext },
        headers: { 'cache-control': 'no-store' },
      };
    },
);
