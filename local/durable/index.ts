/**
 * The local durable runtime as a host extension: serves `orchestrationTrigger` and `activityTrigger`
 * functions registered with `df.app.*`, fills `durableClient` input bindings so `df.getClient(context)` works
 * unchanged, and serves the durable client HTTP API on its own port. State lives in Azure Table storage
 * (Azurite locally), so a restarted host resumes every instance and several hosts can share a task hub.
 */
import { cpus, hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/logger';
import type {
  BindingInfo,
  FunctionInvoker,
  HostExtension,
  RegisteredFunction,
  TypedData,
} from '../functions-host/extension';
import { DurableClientApi, RPC_PREFIX, WEBHOOK_PREFIX, managementUrlTemplates } from './client-api';
import { DurableRuntime } from './runtime';
import { TaskHubStore } from './task-hub-store';

export interface DurableExtensionOptions {
  /** Storage account holding the task hub (`AzureWebJobsStorage`); Azurite locally. */
  storageConnectionString: string;
  /** Task hub name; letters and digits, starting with a letter (it prefixes the table name). */
  taskHubName: string;
  /** Port of the durable client HTTP API (the binding's `rpcBaseUrl`); 0 picks a free port. */
  rpcPort: number;
  /** How long a claim on an instance or an activity lasts without renewal; an abandoned claim expires then. */
  leaseMs?: number;
  /** How often to look for work other processes produced, timers that came due and abandoned work. */
  pollIntervalMs?: number;
  /**
   * Activities run at once by this process (the extension's `maxConcurrentActivityFunctions`); defaults to
   * 10 per CPU, as there.
   */
  maxConcurrentActivities?: number;
  /** Identifies this process in leases; unique per process by default. */
  workerId?: string;
  /**
   * Base URL of the management links (`statusQueryGetUri`, ...) handed to the client; defaults to this API's
   * own address. durable-functions rewrites their origin to the calling request's, so a host that forwards
   * `/runtime/webhooks/durabletask/*` to `clientApi.handle` serves them on its own port.
   */
  managementBaseUrl?: string;
  logger: Logger;
}

/** A durable extension, plus what a host needs to forward webhook paths to it. */
export interface DurableExtension extends HostExtension {
  /** The client API's base URL once started (`http://127.0.0.1:<port>/durabletask/`). */
  readonly rpcBaseUrl: string;
  /** The client API request handler, for hosts that forward `/runtime/webhooks/durabletask/*` to it. */
  readonly clientApi: DurableClientApi;
}

/** Path prefix of the public durable webhooks, for hosts that forward them to `clientApi.handle`. */
export { WEBHOOK_PREFIX };

/** Creates the local durable runtime extension for the local Functions host. */
export function createDurableExtension(options: DurableExtensionOptions): DurableExtension {
  if (!/^[A-Za-z][A-Za-z0-9]{2,49}$/.test(options.taskHubName)) {
    throw new Error(
      `Task hub name "${options.taskHubName}" must be 3-50 letters or digits, starting with a letter.`,
    );
  }
  const store = new TaskHubStore(options.storageConnectionString, options.taskHubName);
  const runtime = new DurableRuntime(store, {
    workerId: options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    leaseMs: options.leaseMs ?? 30_000,
    pollIntervalMs: options.pollIntervalMs ?? 500,
    maxConcurrentActivities: options.maxConcurrentActivities ?? 10 * cpus().length,
    logger: options.logger,
  });
  let port: number | undefined;
  const rpcOrigin = (): string => {
    if (port === undefined) throw new Error('The durable extension has not been started.');
    return `http://127.0.0.1:${port}`;
  };
  const clientApi = new DurableClientApi({
    store,
    port: options.rpcPort,
    logger: options.logger,
    wake: (instanceId) => runtime.wake(instanceId),
    managementBaseUrl: () => options.managementBaseUrl ?? rpcOrigin(),
    taskHubName: options.taskHubName,
  });

  return {
    name: 'durable',
    triggerTypes: ['orchestrationTrigger', 'activityTrigger'],
    inputBindingTypes: ['durableClient'],
    get rpcBaseUrl(): string {
      return `${rpcOrigin()}${RPC_PREFIX}`;
    },
    clientApi,
    inputBindingData(_fn: RegisteredFunction, _bindingName: string, _binding: BindingInfo): TypedData {
      const base = options.managementBaseUrl ?? rpcOrigin();
      const hub = `taskHub=${encodeURIComponent(options.taskHubName)}&connection=Storage`;
      const payload = {
        taskHubName: options.taskHubName,
        creationUrls: {
          createNewInstancePostUri: `${base}${WEBHOOK_PREFIX}orchestrators/{functionName}[/{instanceId}]?${hub}`,
          createAndWaitOnNewInstancePostUri: `${base}${WEBHOOK_PREFIX}orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${hub}`,
        },
        managementUrls: managementUrlTemplates(base, options.taskHubName),
        baseUrl: `${base}${WEBHOOK_PREFIX}`.replace(/\/$/, ''),
        requiredQueryStringParameters: hub,
        rpcBaseUrl: `${rpcOrigin()}${RPC_PREFIX}`,
      };
      return { json: JSON.stringify(payload) };
    },
    async start(invoker: FunctionInvoker): Promise<void> {
      await store.ensure();
      port = await clientApi.listen();
      runtime.start(invoker);
      options.logger.info(
        { rpcBaseUrl: `${rpcOrigin()}${RPC_PREFIX}`, taskHub: options.taskHubName },
        'durable runtime started',
      );
    },
    async stop(): Promise<void> {
      await clientApi.close();
      await runtime.stop();
    },
  };
}
