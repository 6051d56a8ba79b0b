import { routes } from '../shared/api/routes';
import { issueApiKey, toApiKeyView } from '../shared/auth/api-keys';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.createApiKey, async ({ body, principal, services }) => {
  const { apiKeys, audit, apiKeyPepper } = await services();
  const { plaintext, record } = issueApiKey(principal, body, { pepper: apiKeyPepper });
  await audit.recorded(
    {
      tenantId: record.tenantId,
      action: 'api_key.created',
      target: { type: 'apiKey', id: record.keyId },
      details: { name: record.name, expiresAt: record.expiresAt ?? null },
    },
    () => apiKeys.create(record),
  );
  return {
    status: 201,
    body: { ...toApiKeyView(record), key: plaintext },
    headers: { 'cache-control': 'no-store' },
  };
});
