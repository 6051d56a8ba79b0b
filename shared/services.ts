import { AdminService } from './admin/admin-service';
import { ApiKeyRepository } from './auth/api-key-repository';
import { createAuthenticator, type Authenticator } from './auth/authenticator';
import { trustedIssuers } from './auth/issuer-config';
import { getCosmosClient } from './adapters/cosmos-client';
import { createWebPubSub, type WebPubSubPort } from './adapters/web-pubsub';
import { CosmosStore } from './adapters/cosmos-store';
import { getConfig, resolveLlmProvider, type AppConfig } from './config';
import { createOfflineAdapter } from './engine/offline/offline-adapter';
import { JobExecution } from './jobs/job-execution';
import { JobRepository } from './jobs/job-repository';
import { JobService } from './jobs/job-service';
import { UsageRepository } from './jobs/usage-records';
import { createAnthropicAdapter } from './llm/anthropic-adapter';
import type { LlmPort } from './llm/port';
import { createLogger, type Logger } from './logger';
import { PlanRepository } from './plans/plan-repository';
import { EventLog } from './progress/event-log';
import { ProgressPublisher } from './progress/progress-publisher';
import { ProgressService } from './progress/progress-service';
import { totalTokens } from './quotas/call-estimates';
import { QuotaService } from './quotas/quota-service';
import { TenantRepository } from './tenants/tenant-repository';
import { UsageReports } from './usage/usage-reports';
import { UsageService } from './usage/usage-service';

/**
 * The composition root: every long-lived dependency is built once per process, on first use, from the one
 * config. Function files and activities ask for it and never construct clients themselves.
 */
export interface Services {
  config: AppConfig;
  logger: Logger;
  store: CosmosStore;
  apiKeys: ApiKeyRepository;
  authenticator: Authenticator;
  plans: PlanRepository;
  tenants: TenantRepository;
  jobsRepository: JobRepository;
  usage: UsageRepository;
  /** Plan quotas; undefined when `QUOTAS_ENABLED` is false. */
  quotas: QuotaService | undefined;
  usageService: UsageService;
  admin: AdminService;
  llm: LlmPort;
  jobs: JobService;
  execution: JobExecution;
  events: EventLog;
  /** Undefined when Web PubSub is not configured. */
  pubsub: WebPubSubPort | undefined;
  progress: ProgressService;
}

export function createLlm(config: AppConfig): LlmPort {
  if (resolveLlmProvider(config) === 'offline')
    return createOfflineAdapter({ latencyMs: config.OFFLINE_LATENCY_MS });
  if (!config.ANTHROPIC_API_KEY) {
    throw new Error('LLM_PROVIDER is anthropic but ANTHROPIC_API_KEY is not set.');
  }
  return createAnthropicAdapter({
    apiKey: config.ANTHROPIC_API_KEY,
    ...(config.ANTHROPIC_BASE_URL ? { baseURL: config.ANTHROPIC_BASE_URL } : {}),
    timeoutMs: config.ANTHROPIC_TIMEOUT_MS,
    maxRetries: config.ANTHROPIC_MAX_RETRIES,
  });
}

async function build(config: AppConfig): Promise<Services> {
  const logger = createLogger('user-story-agent', config.LOG_LEVEL);
  const store = await CosmosStore.initialize(getCosmosClient(config), config.COSMOS_DATABASE);
  const plans = new PlanRepository(store);
  await plans.seedDefaults();
  const tenants = new TenantRepository(store, config.DEFAULT_PLAN);
  const jobsRepository = new JobRepository(store);
  const usage = new UsageRepository(store);
  const llm = createLlm(config);
  const quotas = config.QUOTAS_ENABLED
    ? new QuotaService({
        store,
        concurrencyRetryAfterSeconds: config.CONCURRENCY_RETRY_AFTER_SECONDS,
        // A call's deadline covers its retries; the minute on top covers recording, settling and clock skew.
        reservationTtlMs: config.ANTHROPIC_TIMEOUT_MS + 60_000,
        recordedCall: async (tenantId, callId) => {
          const record = await usage.find(tenantId, callId);
          return record && { ...record, tokens: totalTokens(record), microUsd: record.costMicroUsd };
        },
      })
    : undefined;
  const reports = new UsageReports(store);
  const apiKeys = new ApiKeyRepository(store);
  const events = new EventLog(store);
  const pubsub = createWebPubSub(config);
  const progress = new ProgressPublisher({ log: events, pubsub, logger });
  const authenticator = createAuthenticator({
    issuers: trustedIssuers(config),
    apiKeys,
    apiKeyPepper: config.API_KEY_PEPPER,
  });
  return {
    config,
    logger,
    store,
    apiKeys,
    authenticator,
    plans,
    tenants,
    jobsRepository,
    usage,
    quotas,
    usageService: new UsageService({ usage, reports, plans, tenants, quotas }),
    admin: new AdminService({ plans, tenants, reports }),
    llm,
    jobs: new JobService({
      jobs: jobsRepository,
      tenants,
      plans,
      approvalTimeoutSeconds: config.APPROVAL_TIMEOUT_SECONDS,
      quotas,
      queuePollSeconds: config.QUEUE_POLL_SECONDS,
    }),
    execution: new JobExecution({
      jobs: jobsRepository,
      usage,
      llm,
      quotas,
      cancelPollMs: config.CANCEL_POLL_MS,
      cacheWarmWaitMs: config.CACHE_WARM_WAIT_MS,
      llmTimeoutMs: config.ANTHROPIC_TIMEOUT_MS,
      progress,
    }),
    events,
    pubsub,
    progress: new ProgressService({
      jobs: jobsRepository,
      events,
      pubsub,
      logger,
      pollMs: config.PROGRESS_POLL_MS,
      heartbeatMs: config.SSE_HEARTBEAT_MS,
    }),
  };
}

let building: Promise<Services> | undefined;

/** The process's services; a failed start-up (e.g. Cosmos down) is retried on the next call, not cached. */
export function getServices(): Promise<Services> {
  building ??= build(getConfig()).catch((error: unknown) => {
    building = undefined;
    throw error;
  });
  return building;
}
