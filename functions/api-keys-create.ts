import { routes } from '../shared/api/routes';
import { issueApiKey, toApiKeyView } from '../shared/auth/api-keys';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.createApiKey,
  uses('apiKeys', 'config'),
  ({ apiKeys, config }) =>
    async ({ body, principal }) => {
      const { plaintext, record } = issueApiKey(principal, body, { pepper: config.API_KEY_PEPPER });
      await apiKeys.create(record);
      return {
        status: 201,
        body: { ...toApiKeyView(record), key: plaintext },
        headers: { 'cache-control': 'no-store' },
      };
    },
);
