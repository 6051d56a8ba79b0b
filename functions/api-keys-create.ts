import { routes } from '../shared/api/routes';
import { issueApiKey, toApiKeyView } from '../shared/auth/api-keys';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.createApiKey, async ({ body, principal, services }) => {
  const { apiKeys, config } = await services();
  const { plaintext, record } = issueApiKey(principal, body, { pepper: config.API_KEY_PEPPER });
  await apiKeys.create(record);
  return {
    status: 201,
    body: { ...toApiKeyView(record), key: plaintext },
    headers: { 'cache-control': 'no-store' },
  };
});
