import { z } from 'zod';
import { freePort, startHost, type StartedProcess } from './local-services';

/** Black-box helpers for the local durable runtime: a host serving the durable test app, and its client API. */
export const durableAppMain = 'dist/test/apps/durable-app/*.js';

export interface DurableHost {
  url: string;
  rpcBaseUrl: string;
  process: StartedProcess;
}

export async function startDurableHost(options: {
  storage: string;
  taskHub: string;
  rpcPort?: number;
  leaseMs?: number;
  pollMs?: number;
  maxConcurrentActivities?: number;
}): Promise<DurableHost> {
  const rpcPort = options.rpcPort ?? (await freePort());
  const host = await startHost({
    main: durableAppMain,
    env: {
      AzureWebJobsStorage: options.storage,
      TASK_HUB_NAME: options.taskHub,
      DURABLE_RPC_PORT: String(rpcPort),
      DURABLE_LEASE_MS: String(options.leaseMs ?? 3000),
      DURABLE_POLL_MS: String(options.pollMs ?? 200),
      ...(options.maxConcurrentActivities === undefined
        ? {}
        : { DURABLE_MAX_CONCURRENT_ACTIVITIES: String(options.maxConcurrentActivities) }),
    },
  });
  return { ...host, rpcBaseUrl: `http://127.0.0.1:${rpcPort}/durabletask/` };
}

export const statusSchema = z.object({
  name: z.string(),
  instanceId: z.string(),
  runtimeStatus: z.string(),
  input: z.unknown(),
  output: z.unknown(),
  customStatus: z.unknown(),
  createdTime: z.string(),
  lastUpdatedTime: z.string(),
  historyEvents: z.array(z.record(z.string(), z.unknown())).optional(),
});
export type Status = z.infer<typeof statusSchema>;

/** Starts an orchestration through the client API; returns its instance id. */
export async function startOrchestration(
  rpcBaseUrl: string,
  name: string,
  input: unknown,
  instanceId?: string,
): Promise<string> {
  const response = await fetch(
    new URL(`orchestrators/${name}${instanceId ? `/${instanceId}` : ''}`, rpcBaseUrl),
    {
      method: 'POST',
      body: JSON.stringify(input),
    },
  );
  if (response.status !== 202) throw new Error(`start ${name}: ${response.status} ${await response.text()}`);
  return z.object({ id: z.string() }).parse(await response.json()).id;
}

export async function getStatus(
  rpcBaseUrl: string,
  instanceId: string,
  showHistory = false,
): Promise<Status> {
  const response = await fetch(
    new URL(
      `instances/${instanceId}${showHistory ? '?showHistory=true&showHistoryOutput=true' : ''}`,
      rpcBaseUrl,
    ),
  );
  return statusSchema.parse(await response.json());
}

const finished = new Set(['Completed', 'Failed', 'Terminated']);

/** Polls until the instance finishes (or `accept` holds), or fails after `timeoutMs`. */
export async function waitForStatus(
  rpcBaseUrl: string,
  instanceId: string,
  accept: (status: Status) => boolean = (status) => finished.has(status.runtimeStatus),
  timeoutMs = 20_000,
): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await getStatus(rpcBaseUrl, instanceId);
    if (accept(status)) return status;
    if (Date.now() > deadline)
      throw new Error(`instance ${instanceId} still ${status.runtimeStatus} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function post(url: URL | string, body?: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
}
