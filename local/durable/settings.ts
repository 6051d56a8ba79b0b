import { z } from 'zod';
import type { Logger } from '../../shared/logger';
import type { RegisteredFunction } from '../functions-host/extension';
import type { DurableExtensionOptions } from './index';

/** Environment settings of the local durable runtime, with the defaults `npm start` uses. */
const durableSettingsSchema = z.object({
  AzureWebJobsStorage: z.string().min(1).default('UseDevelopmentStorage=true'),
  TASK_HUB_NAME: z.string().default('UserStoryAgentHub'),
  DURABLE_RPC_PORT: z.coerce.number().int().min(0).max(65535).default(17071),
  DURABLE_LEASE_MS: z.coerce.number().int().min(500).default(30_000),
  DURABLE_POLL_MS: z.coerce.number().int().min(10).default(500),
  DURABLE_WORKER_ID: z.string().min(1).optional(),
  DURABLE_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).optional(),
});

/** Reads the durable runtime's options from the environment; fails with every bad key at once. */
export function durableOptionsFromEnv(env: NodeJS.ProcessEnv, logger: Logger): DurableExtensionOptions {
  const parsed = durableSettingsSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `Invalid durable runtime settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const s = parsed.data;
  return {
    storageConnectionString: s.AzureWebJobsStorage,
    taskHubName: s.TASK_HUB_NAME,
    rpcPort: s.DURABLE_RPC_PORT,
    leaseMs: s.DURABLE_LEASE_MS,
    pollIntervalMs: s.DURABLE_POLL_MS,
    workerId: s.DURABLE_WORKER_ID,
    maxConcurrentActivities: s.DURABLE_MAX_CONCURRENT_ACTIVITIES,
    logger,
  };
}

/** True when the app registered anything the durable runtime serves, so apps without it need no storage. */
export function usesDurable(functions: Iterable<RegisteredFunction>): boolean {
  for (const fn of functions) {
    if (
      Object.values(fn.bindings).some((b) =>
        ['orchestrationTrigger', 'activityTrigger', 'durableClient'].includes(b.type),
      )
    ) {
      return true;
    }
  }
  return false;
}
