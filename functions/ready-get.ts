import { routes } from '../shared/api/routes';
import { getBlobServiceClient } from '../shared/adapters/blob-client';
import { getCosmosClient } from '../shared/adapters/cosmos-client';
import { createWebPubSub } from '../shared/adapters/web-pubsub';
import { getConfig, resolveLlmProvider } from '../shared/config';
import { registerRoute } from '../shared/http/route';
import { checkReadiness } from '../shared/readiness';
import { uses } from '../shared/services';

const config = getConfig();
const realtime = createWebPubSub(config);

registerRoute(routes.ready, uses(), () => async () => {
  const report = await checkReadiness(
    {
      cosmos: (abortSignal) => getCosmosClient(config).getDatabaseAccount({ abortSignal }),
      // A data-plane call that the app's own data roles allow (service properties need more).
      storage: (abortSignal) =>
        getBlobServiceClient(config).getContainerClient(config.UPLOADS_CONTAINER).exists({ abortSignal }),
      // Not called: a readiness probe must not spend tokens. It reports which provider jobs will use.
      llm: () => Promise.resolve(`${resolveLlmProvider(config)} (configured, not called)`),
      // A send to a group nobody joins: proves reachability and credentials at no cost.
      realtime: () =>
        realtime
          ? realtime.sendToGroup('readiness-probe', { type: 'probe' }).then(() => 'web pubsub')
          : Promise.resolve('disabled: Server-Sent Events only'),
    },
    config.READY_CHECK_TIMEOUT_MS,
  );
  return {
    status: report.status === 'ok' ? 200 : 503,
    body: report,
    headers: { 'cache-control': 'no-store' },
  };
});
