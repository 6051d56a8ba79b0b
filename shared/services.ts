import { AdminService } from './admin/admin-service';
import { AlertRepository } from './alerts/alert-repository';
import { UsageAlerts } from './alerts/usage-alerts';
import { AuditTrail } from './audit/audit-trail';
import { SecuritySignals } from './audit/security-signals';
import { auditRefusal } from './audit/refusals';
import { ApiKeyRepository } from './auth/api-key-repository';
import { createAuthenticator, type Authenticator } from './auth/authenticator';
import { trustedIssuers } from './auth/issuer-config';
import { TrustPolicyRepository } from './auth/trust-policy-repository';
import { TrustPolicyService } from './auth/trust-policy-service';
import { getBlobServiceClient } from './adapters/blob-client';
import { getCosmosClient } from './adapters/cosmos-client';
import { createKeyVaultReader } from './adapters/key-vault';
import { AzureUploadBlobs, type UploadBlobs } from './adapters/upload-blobs';
import { createWebPubSub, type WebPubSubPort } from './adapters/web-pubsub';
import { CosmosStore } from './adapters/cosmos-store';
import { getConfig, webhookHttpsOnly, type AppConfig } from './config';
import { AppError } from './errors';
import { ConversationRepository } from './conversations/conversation-repository';
import { ConversationService } from './conversations/conversation-service';
import { JobExports } from './exports/job-export';
import { FailedJobs } from './jobs/failed-jobs';
import { JobRepository } from './jobs/job-repository';
import { JobService } from './jobs/job-service';
import { JobSteps } from './jobs/job-steps';
import { SystemSteps } from './jobs/system-steps';
import { UsageRepository } from './jobs/usage-records';
import type { ApiKeySource } from './llm/anthropic-adapter';
import { createLlmClient } from './llm/llm-client';
import type { LlmPort } from './llm/port';
import type { Authenticate, RouteDependencies } from './http/route';
import { createLogger, type Logger } from './logger';
import { PlanRepository } from './plans/plan-repository';
import { EventLog } from './progress/event-log';
import { ProgressPublisher } from './progress/progress-publisher';
import { ConnectionRepository } from './openwebui/connection-repository';
import { ConnectionService } from './openwebui/connection-service';
import { ProgressService } from './progress/progress-service';
import { totalTokens } from './quotas/call-estimates';
import { QuotaService } from './quotas/quota-service';
import { createSealedSecretStore } from './secrets/secret-store';
import { StreamLeases } from './quotas/stream-leases';
import { createSecretProvider, secretSources, type SecretProvider } from './secrets/secret-provider';
import { tracedLlm } from './telemetry/traced-llm';
import { TenantRepository } from './tenants/tenant-repository';
import { UsageReports } from './usage/usage-reports';
import { MockupInventoryRepository } from './mockups/inventory-repository';
import { UploadChecker } from './uploads/upload-checker';
import { UploadRepository } from './uploads/upload-repository';
import { UploadRetention } from './uploads/upload-retention';
import { UploadService } from './uploads/upload-service';
import { UsageService } from './usage/usage-service';
import { AddressGuard } from './webhooks/address-guard';
import { WebhookSender } from './webhooks/webhook-sender';
import { WebhookService } from './webhooks/webhook-service';

/**
 * The composition root: every long-lived dependency is built once per process, on first use, from the one
 * config. Function files and activities ask for the services they use (`uses`, `getServices`) and never
 * construct clients themselves; the HTTP wrapper and the services never import this module.
 */
export interface Services {
  config: AppConfig;
  logger: Logger;
  /** Secrets by name, from Key Vault (by secret URI) or plain settings. */
  secrets: SecretProvider;
  /**
   * The API-key pepper, read once at start-up: a changed pepper invalidates every key hashed with it, so a
   * running app never switches to another one.
   */
  apiKeyPepper: string | undefined;
  store: CosmosStore;
  /** The tenant-chained audit trail; `audit.record({...})` is all an action needs (see `audit-trail.ts`). */
  audit: AuditTrail;
  /** Repeated authentication failures and rate-limit refusals, condensed for the audit trail. */
  signals: SecuritySignals;
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
  /** The dead-letter list and retries of failed jobs. */
  failedJobs: FailedJobs;
  steps: JobSteps;
  /** System mode: the backlog passes and bookkeeping around each story's sub-orchestration. */
  systemSteps: SystemSteps;
  /** Completed jobs as Gherkin, Jira, Azure DevOps or markdown files. */
  jobExports: JobExports;
  /** Refinement by conversation: messages on completed jobs, each run as a new linked job. */
  conversations: ConversationService;
  events: EventLog;
  /** Undefined when Web PubSub is not configured. */
  pubsub: WebPubSubPort | undefined;
  progress: ProgressService;
  openWebUi: ConnectionService;
  trustPolicies: TrustPolicyService;
  webhooks: WebhookService;
  uploads: UploadRepository;
  uploadBlobs: UploadBlobs;
  uploadService: UploadService;
  uploadChecker: UploadChecker;
  uploadRetention: UploadRetention;
  /** Usage anomaly alerts: the hourly scan and the admin list. */
  alerts: UsageAlerts;
}

/** The Anthropic key, read through the secret provider (Key Vault or the app setting), refreshed on a 401. */
function anthropicKey(secrets: SecretProvider): ApiKeySource {
  return async ({ refresh }) => {
    const key = refresh ? await secrets.refresh('ANTHROPIC_API_KEY') : await secrets.get('ANTHROPIC_API_KEY');
    if (key === undefined) throw new AppError('internal', 'The Anthropic API key is not configured.');
    return key;
  };
}

async function build(config: AppConfig): Promise<Services> {
  const logger = createLogger('user-story-agent', config.LOG_LEVEL);
  const secrets = createSecretProvider({
    sources: secretSources(config),
    reader: createKeyVaultReader(),
    ttlMs: config.SECRET_CACHE_TTL_SECONDS * 1000,
  });
  const [apiKeyPepper, webhookSecretKey, connectionSecretsKey] = await Promise.all([
    secrets.get('API_KEY_PEPPER'),
    secrets.get('WEBHOOK_SECRET_KEY'),
    secrets.get('CONNECTION_SECRETS_KEY'),
  ]);
  const store = await CosmosStore.initialize(getCosmosClient(config), config.COSMOS_DATABASE);
  const plans = new PlanRepository(store);
  await plans.seedDefaults();
  const tenants = new TenantRepository(store, config.DEFAULT_PLAN);
  const jobsRepository = new JobRepository(store);
  const usage = new UsageRepository(store);
  const keyConfigured =
    config.ANTHROPIC_API_KEY !== undefined || config.ANTHROPIC_API_KEY_SECRET_URI !== undefined;
  const llm = tracedLlm(createLlmClient(config, keyConfigured ? { apiKey: anthropicKey(secrets) } : {}));
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
  const audit = new AuditTrail({ store, logger });
  const uploads = new UploadRepository(store);
  const uploadBlobs = new AzureUploadBlobs(getBlobServiceClient(config), config.UPLOADS_CONTAINER);
  const inventories = new MockupInventoryRepository(store);
  const uploadService = new UploadService({
    uploads,
    blobs: uploadBlobs,
    tenants,
    plans,
    urlTtlSeconds: config.UPLOAD_URL_TTL_SECONDS,
    pendingWaitMs: config.UPLOAD_PENDING_WAIT_SECONDS * 1000,
  });
  const jobs = new JobService({
    jobs: jobsRepository,
    tenants,
    plans,
    approvalTimeoutSeconds: config.APPROVAL_TIMEOUT_SECONDS,
    quotas,
    queuePollSeconds: config.QUEUE_POLL_SECONDS,
    systemStoryConcurrency: config.SYSTEM_STORY_CONCURRENCY,
    audit,
    uploads: uploadService,
  });
  const events = new EventLog(store);
  const pubsub = createWebPubSub(config);
  const progress = new ProgressPublisher({ log: events, pubsub, logger });
  const steps = new JobSteps({
    jobs: jobsRepository,
    usage,
    llm,
    quotas,
    cancelPollMs: config.CANCEL_POLL_MS,
    cacheWarmWaitMs: config.CACHE_WARM_WAIT_MS,
    llmTimeoutMs: config.ANTHROPIC_TIMEOUT_MS,
    progress,
    mockups: { uploads, blobs: uploadBlobs, inventories },
  });
  const openWebUi = new ConnectionService({
    connections: new ConnectionRepository(store),
    audit,
    apiKeys,
    secrets: connectionSecretsKey === undefined ? undefined : createSealedSecretStore(connectionSecretsKey),
    apiKeyPepper,
  });
  const trustPolicies = new TrustPolicyService({
    policies: new TrustPolicyRepository(store),
    audit,
    requireHttpsIssuers: config.NODE_ENV === 'production',
  });
  const authenticator = createAuthenticator({
    issuers: trustedIssuers(config),
    workloads: trustPolicies,
    apiKeys,
    apiKeyPepper,
    connections: openWebUi,
  });
  const httpsOnly = webhookHttpsOnly(config);
  const webhooks = new WebhookService({
    store,
    audit,
    logger,
    sender: new WebhookSender({
      guard: AddressGuard.fromSetting(config.WEBHOOK_ALLOWED_CIDRS),
      httpsOnly,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    }),
    secretKey: webhookSecretKey,
    httpsOnly,
    delaysSeconds: config.WEBHOOK_RETRY_DELAYS_SECONDS.split(',').map(Number),
    jobs: jobsRepository,
    monthSpend: async (tenantId) => {
      const month = new Date().toISOString().slice(0, 7);
      const tenant = await tenants.ensure(tenantId);
      const [spent, plan] = await Promise.all([
        reports.tenantMonthTotal(tenantId, month),
        plans.get(tenant.planId),
      ]);
      return { month, spentUsd: spent.costUsd, budgetUsd: plan.limits.monthlyBudgetUsd };
    },
  });
  return {
    config,
    logger,
    webhooks,
    secrets,
    apiKeyPepper,
    alerts: new UsageAlerts({
      alerts: new AlertRepository(store),
      usage,
      tenants,
      audit,
      webhooks,
      logger,
    }),
    store,
    audit,
    signals: new SecuritySignals(),
    apiKeys,
    authenticator,
    plans,
    tenants,
    jobsRepository,
    usage,
    quotas,
    usageService: new UsageService({ usage, reports, plans, tenants, quotas }),
    admin: new AdminService({ plans, tenants, reports, audit, defaultPlanId: config.DEFAULT_PLAN }),
    llm,
    jobs,
    failedJobs: new FailedJobs({ jobs: jobsRepository, jobService: jobs, audit }),
    jobExports: new JobExports(jobs),
    conversations: new ConversationService({
      jobs: jobsRepository,
      jobService: jobs,
      turns: new ConversationRepository(store),
      inventories,
      maxMessageBytes: config.MAX_MESSAGE_BYTES,
    }),
    steps,
    systemSteps: new SystemSteps({
      jobs: jobsRepository,
      usage,
      llm,
      quotas,
      cancelPollMs: config.CANCEL_POLL_MS,
      llmTimeoutMs: config.ANTHROPIC_TIMEOUT_MS,
      progress,
      terminal: steps,
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
      ...(config.QUOTAS_ENABLED
        ? {
            leases: {
              leases: new StreamLeases({
                store,
                maxRetryAfterSeconds: config.CONCURRENCY_RETRY_AFTER_SECONDS,
              }),
              tenants,
              plans,
            },
          }
        : {}),
    }),
    openWebUi,
    trustPolicies,
    uploads,
    uploadBlobs,
    uploadService,
    uploadChecker: new UploadChecker({ uploads, blobs: uploadBlobs, logger }),
    uploadRetention: new UploadRetention({ uploads, blobs: uploadBlobs, tenants, plans, logger }),
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

/** The caller check of every authenticated route: a valid credential, and its tenant on record. */
function authenticateWith({ authenticator, tenants }: Services): Authenticate {
  return async (headers) => {
    const principal = await authenticator.authenticate(headers);
    await tenants.ensureKnown(principal.tenantId);
    return principal;
  };
}

/**
 * The dependencies of one HTTP function: the caller check and exactly the named services, nothing more (the
 * handler cannot reach a service it did not name). Nothing is built until a request needs it, and a route
 * that names no service and needs no caller never builds anything.
 */
export function uses<K extends keyof Services>(...names: K[]): RouteDependencies<Pick<Services, K>> {
  return {
    authenticate: async () => authenticateWith(await getServices()),
    refused: async (error, request, operationId) =>
      auditRefusal(await getServices(), error, request, operationId),
    services: async () => {
      const picked = {} as Pick<Services, K>;
      if (names.length === 0) return picked;
      const services = await getServices();
      for (const name of names) picked[name] = services[name];
      return picked;
    },
  };
}
