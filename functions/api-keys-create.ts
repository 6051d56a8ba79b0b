import { routes } from '../shared/api/routes';
import { issueApiKey, toApiKeyView } from '../shared/auth/api-keys';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.createApiKey, async ({ body, principal, services }) => {
  const { apiKeys, apiKeyPepper } = await services();
  const { plaintext, record } = issueApiKey(principal, body, { pepper: apiKeyPepper });
  await apiKeys.create(record);
  return {
    status: 201,
    body: { ...toApiKeyView(record), key: plaintext },
    headers: { 'cache-control': 'no-store' },
  };
});
