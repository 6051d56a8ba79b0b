import '../shared/app-setup';
import { app, type HttpResponseInit } from '@azure/functions';
import { getBlobServiceClient } from '../shared/adapters/blob-client';
import { getCosmosClient } from '../shared/adapters/cosmos-client';
import { getConfig } from '../shared/config';
import { checkReadiness } from '../shared/readiness';

/** Readiness: 200 when Cosmos and Storage answer within the deadline, else 503 with per-check detail. */
export async function readyGet(): Promise<HttpResponseInit> {
  const config = getConfig();
  const report = await checkReadiness(
    {
      cosmos: (abortSignal) => getCosmosClient(config).getDatabaseAccount({ abortSignal }),
      storage: (abortSignal) => getBlobServiceClient(config).getProperties({ abortSignal }),
    },
    config.READY_CHECK_TIMEOUT_MS,
  );
  return {
    status: report.status === 'ok' ? 200 : 503,
    jsonBody: report,
    headers: { 'cache-control': 'no-store' },
  };
}

app.http('ready-get', { route: 'ready', methods: ['GET'], authLevel: 'anonymous', handler: readyGet });
