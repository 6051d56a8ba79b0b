import https from 'node:https';
import { CosmosClient } from '@azure/cosmos';
import { DefaultAzureCredential } from '@azure/identity';
import type { AppConfig } from '../config';

/**
 * One Cosmos client per process. Keyless (managed identity) unless a key is configured; endpoint discovery is
 * off for plain-HTTP endpoints (the local emulator) because the SDK would otherwise follow the https address
 * the server advertises. TLS is relaxed only when explicitly allowed, only for this client's agent.
 */
export function createCosmosClient(config: AppConfig): CosmosClient {
  const isPlainHttp = config.COSMOS_ENDPOINT.startsWith('http://');
  const auth = config.COSMOS_KEY
    ? { key: config.COSMOS_KEY }
    : { aadCredentials: new DefaultAzureCredential() };
  return new CosmosClient({
    endpoint: config.COSMOS_ENDPOINT,
    ...auth,
    ...(config.COSMOS_ALLOW_INSECURE_TLS && !isPlainHttp
      ? { agent: new https.Agent({ rejectUnauthorized: false, keepAlive: true }) }
      : {}),
    connectionPolicy: { enableEndpointDiscovery: !isPlainHttp && !config.COSMOS_ALLOW_INSECURE_TLS },
  });
}

let shared: CosmosClient | undefined;

export function getCosmosClient(config: AppConfig): CosmosClient {
  shared ??= createCosmosClient(config);
  return shared;
}
