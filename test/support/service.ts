import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { mintDevToken, startDevIssuer, type DevIssuer } from '../../local/dev-issuer/dev-issuer';
import {
  startAzurite,
  freePort,
  startCosmos,
  startHost,
  tempDir,
  type Azurite,
  type StartedProcess,
} from './local-services';

/**
 * The whole service for black-box tests: Azurite, the Cosmos emulator, the local dev issuer and the local
 * Functions host running the real app, each test file with its own database and task hub.
 */
export interface ServiceUnderTest {
  url: string;
  env: NodeJS.ProcessEnv;
  host: { url: string; process: StartedProcess };
  cosmosEndpoint: string;
  database: string;
  azurite: Azurite;
  issuer: DevIssuer;
  issuerDir: string;
  token(user: {
    sub: string;
    tenantId: string;
    roles?: string[];
    tenantIds?: string[];
    ttlSeconds?: number;
  }): Promise<string>;
  restartHost(options?: { kill?: boolean }): Promise<void>;
  /** Stops the Cosmos emulator (it saves its contents), keeps it down for `downMs`, then starts it again. */
  restartCosmos(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the service; `env` may be computed from the dev issuer's URL (to trust its provider shapes). */
export async function startService(
  env: NodeJS.ProcessEnv | ((issuerUrl: string) => NodeJS.ProcessEnv) = {},
): Promise<ServiceUnderTest> {
  const azurite = await startAzurite();
  const cosmosPort = await freePort();
  const cosmosSnapshot = path.join(tempDir('cosmos'), 'snapshot.json');
  let cosmos = await startCosmos(cosmosPort, cosmosSnapshot);
  const issuerDir = tempDir('issuer');
  const issuer = await startDevIssuer({ port: 0, dataDir: issuerDir });
  const suffix = randomUUID().replace(/-/g, '').slice(0, 10);
  const database = `test-${suffix}`;
  const fullEnv: NodeJS.ProcessEnv = {
    NODE_ENV: 'test',
    AzureWebJobsStorage: azurite.connectionString,
    COSMOS_ENDPOINT: cosmos.endpoint,
    COSMOS_KEY: 'local-emulator',
    COSMOS_DATABASE: database,
    TASK_HUB_NAME: `Hub${suffix}`,
    AUTH_DEV_ISSUER_URL: issuer.url,
    DEFAULT_PLAN: 'enterprise',
    DURABLE_POLL_MS: '50',
    DURABLE_LEASE_MS: '3000',
    CANCEL_POLL_MS: '100',
    CONNECTION_SECRETS_KEY: randomBytes(32).toString('base64'),
    ...(typeof env === 'function' ? env(issuer.url) : env),
  };
  let host = await startHost({ env: fullEnv });
  const service: ServiceUnderTest = {
    get url() {
      return host.url;
    },
    env: fullEnv,
    get host() {
      return host;
    },
    cosmosEndpoint: cosmos.endpoint,
    database,
    azurite,
    issuer,
    issuerDir,
    token: (user) =>
      mintDevToken({
        issuer: issuer.url,
        dataDir: issuerDir,
        sub: user.sub,
        tenantId: user.tenantId,
        roles: user.roles ?? [],
        tenantIds: user.tenantIds ?? [],
        ttlSeconds: user.ttlSeconds ?? 3600,
      }),
    restartCosmos: async (downMs) => {
      await cosmos.process.stop();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      cosmos = await startCosmos(cosmosPort, cosmosSnapshot);
    },
    restartHost: async (options = {}) => {
      const port = Number(new URL(host.url).port);
      if (options.kill) {
        host.process.child.kill('SIGKILL');
        await new Promise((resolve) => host.process.child.once('exit', resolve));
      } else {
        await host.process.stop();
      }
      host = await startHost({ env: fullEnv, port });
    },
    stop: async () => {
      await host.process.stop();
      await issuer.close();
      await cosmos.process.stop();
      await azurite.stop();
    },
  };
  return service;
}

/** Plan limits no test reaches unless it lowers one: spread them under the limit a test is about. */
export const roomyPlanLimits = {
  requestsPerDay: 1_000,
  tokensPerDay: 10_000_000,
  maxStoryBytes: 10_000,
  maxIterations: 12,
  maxConcurrentJobs: 50,
  maxQueuedJobs: 50,
  requestsPerMinute: 1_000,
  monthlyBudgetUsd: 1_000,
};

/** A small JSON client for the service, with the caller's bearer credential. */
export function client(baseUrl: string, credential?: string) {
  const request = async (
    method: string,
    route: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${baseUrl}${route}`, {
      method,
      headers: {
        ...(credential ? { authorization: `Bearer ${credential}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return {
      status: response.status,
      headers: response.headers,
      json: json as Record<string, unknown> & { [key: string]: any },
    };
  };
  return {
    get: (route: string, headers?: Record<string, string>) => request('GET', route, undefined, headers),
    post: (route: string, body?: unknown, headers?: Record<string, string>) =>
      request('POST', route, body, headers),
    delete: (route: string) => request('DELETE', route),
    patch: (route: string, body?: unknown) => request('PATCH', route, body),
  };
}

export type Client = ReturnType<typeof client>;

/** Every item of a paged list (`{ items, nextCursor }`): `route` (with its query) and each next `cursor`. */
export async function allPages(api: Client, route: string): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.get(`${route}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (page.status !== 200) throw new Error(`${route}: ${page.status} ${JSON.stringify(page.json)}`);
    items.push(...page.json.items);
    cursor = page.json.nextCursor;
  } while (cursor);
  return items;
}

/** Polls a job until `accept` says so (or fails with the last state seen). */
export async function waitForJob(
  api: Client,
  jobId: string,
  accept: (job: Record<string, any>) => boolean,
  timeoutMs = 30_000,
): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, any> = {};
  while (Date.now() < deadline) {
    const response = await api.get(`/api/v1/jobs/${jobId}`);
    last = response.json;
    if (response.status === 200 && accept(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `Job ${jobId} did not reach the expected state; last seen: ${JSON.stringify(last).slice(0, 2000)}`,
  );
}

export const finished = (job: Record<string, any>) =>
  ['completed', 'failed', 'cancelled'].includes(String(job.status));
