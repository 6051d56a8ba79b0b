import { routes } from '../shared/api/routes';
import { getBlobServiceClient } from '../shared/adapters/blob-client';
import { getCosmosClient } from '../shared/adapters/cosmos-client';
import { getConfig } from '../shared/config';
import { registerRoute } from '../shared/http/route';
import { checkReadiness } from '../shared/readiness';

registerRoute(routes.ready, async () => {
  const config = getConfig();
  const report = await checkReadiness(
    {
      cosmos: (abortSignal) => getCosmosClient(config).getDatabaseAccount({ abortSignal }),
      // A data-plane call that the app's own data roles allow (service properties need more).
      storage: (abortSignal) =>
        getBlobServiceClient(config).getContainerClient(config.UPLOADS_CONTAINER).exists({ abortSignal }),
    },
    config.READY_CHECK_TIMEOUT_MS,
  );
  return {
    status: report.status === 'ok' ? 200 : 503,
    body: report,
    headers: { 'cache-control': 'no-store' },
  };
});
