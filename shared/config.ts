import { z } from 'zod';
import { issuerConfigSchema } from './auth/issuer-config';
import { sealingKeySchema } from './secrets/sealing';

/**
 * Every setting the app reads, with its built-in default (the embedded local stack) where one is safe.
 * `local.settings.sample.json` and the README settings table mirror this schema; a test keeps them in step.
 * Environment variables override `local.settings.json`, which overrides these defaults.
 */
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

/** A JSON array in a string setting (app settings are strings), parsed and then validated by `items`. */
const jsonArray = <T extends z.ZodType>(items: T) =>
  z
    .string()
    .default('[]')
    .transform((text, context): unknown => {
      if (text.trim() === '') return [];
      try {
        return JSON.parse(text);
      } catch {
        context.addIssue({ code: 'custom', message: 'not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(z.array(items));

const integerFromString = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** A Key Vault secret identifier, `https://<vault>/secrets/<name>` (latest version) or `.../<name>/<version>`. */
const secretUri = optionalString.pipe(
  z
    .url({ protocol: /^https?$/ })
    .regex(
      /^[^?#]+\/secrets\/[0-9A-Za-z-]{1,127}(\/[0-9A-Za-z]{1,64})?\/?$/,
      'a Key Vault secret URI (…/secrets/<name>[/<version>])',
    )
    .optional(),
);

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TASK_HUB_NAME: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{2,44}$/, 'letters and digits, 3-45 characters, starting with a letter')
    .default('UserStoryAgentHub'),
  AzureWebJobsStorage: z.string().min(1).default('UseDevelopmentStorage=true'),
  STORAGE_CONNECTION_STRING: optionalString,
  STORAGE_ACCOUNT_URL: optionalString.pipe(z.url().optional()),
  UPLOADS_CONTAINER: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/, 'a blob container name')
    .default('uploads'),
  /** How long an upload URL (SAS) stays usable. */
  UPLOAD_URL_TTL_SECONDS: integerFromString(300, 30, 3_600),
  /** How long job creation waits for referenced uploads that are still being checked. */
  UPLOAD_PENDING_WAIT_SECONDS: integerFromString(10, 0, 60),
  /** When the upload retention timer runs: NCRONTAB (six fields, UTC) or a TimeSpan. */
  UPLOAD_RETENTION_SCHEDULE: z.string().min(1).default('0 15 * * * *'),
  COSMOS_ENDPOINT: z.url().default('http://127.0.0.1:8081'),
  COSMOS_KEY: optionalString,
  COSMOS_DATABASE: z.string().min(1).default('user-story-agent'),
  COSMOS_ALLOW_INSECURE_TLS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
  READY_CHECK_TIMEOUT_MS: integerFromString(2000, 100, 30_000),
  /** `offline` or `anthropic`; unset means anthropic when `ANTHROPIC_API_KEY` is set (see `resolveLlmProvider`). */
  LLM_PROVIDER: optionalString.pipe(z.enum(['offline', 'anthropic']).optional()),
  ANTHROPIC_API_KEY: optionalString.refine(
    (value) => value === undefined || !value.startsWith('@Microsoft.KeyVault('),
    'is an unresolved Key Vault reference: grant the app Key Vault Secrets User and check the secret exists',
  ),
  /** Key Vault secret holding the Anthropic key, read with the app's identity; wins over `ANTHROPIC_API_KEY`. */
  ANTHROPIC_API_KEY_SECRET_URI: secretUri,
  /** Any Messages-API-compatible server, e.g. the local one in `local/messages-api/`. */
  ANTHROPIC_BASE_URL: optionalString.pipe(z.url().optional()),
  ANTHROPIC_TIMEOUT_MS: integerFromString(120_000, 1_000, 600_000),
  /** Retries after the first attempt, for 429/529/5xx and connection failures only. */
  ANTHROPIC_MAX_RETRIES: integerFromString(3, 0, 10),
  /** Added to every offline-engine call so demos and tests can watch and cancel work in progress. */
  OFFLINE_LATENCY_MS: integerFromString(0, 0, 600_000),
  /** Plan of a tenant seen for the first time. */
  DEFAULT_PLAN: z.string().min(1).default('free'),
  /** `false` turns off every plan quota but story size and iterations (benchmarks, trusted single-user setups). */
  QUOTAS_ENABLED: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
  /** How often a queued job checks for a free run slot (a durable timer between checks). */
  QUEUE_POLL_SECONDS: integerFromString(2, 1, 300),
  /** `Retry-After` sent with `concurrency_limit`: when a run slot is expected to free up. */
  CONCURRENCY_RETRY_AFTER_SECONDS: integerFromString(30, 1, 3_600),
  /** Interactive mode: how long a job waits for each approval before it fails with `approval_timeout`. */
  APPROVAL_TIMEOUT_SECONDS: integerFromString(86_400, 1, 7 * 86_400),
  SYSTEM_STORY_CONCURRENCY: integerFromString(3, 1, 25),
  /** How often a running iteration checks its job's cancel flag (and aborts its LLM call). */
  CANCEL_POLL_MS: integerFromString(500, 50, 10_000),
  /** Parallel iterations wait up to this long for the first one to write their model's prompt cache (0: off). */
  CACHE_WARM_WAIT_MS: integerFromString(10_000, 0, 60_000),
  /** Largest message of a conversation turn (`POST /jobs/{id}/messages`), in UTF-8 bytes; 413 beyond. */
  MAX_MESSAGE_BYTES: integerFromString(4_096, 16, 65_536),
  /** Largest request body accepted before parsing; the plan's story limit applies on top. */
  MAX_REQUEST_BODY_BYTES: integerFromString(262_144, 1_024, 10_485_760),
  /** Browser origins allowed to call the API (comma-separated, or `*`), e.g. OpenWebUI for user-added tool servers. */
  CORS_ALLOWED_ORIGINS: z.string().default(''),
  AUTH_ISSUERS: jsonArray(issuerConfigSchema),
  AUTH_DEV_ISSUER_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  /** Web PubSub by connection string (the local server from `npm start`, or access keys). */
  WEB_PUBSUB_CONNECTION_STRING: optionalString,
  /** Web PubSub by endpoint, with the managed identity; ignored when a connection string is set. */
  WEB_PUBSUB_ENDPOINT: optionalString.pipe(z.url().optional()),
  WEB_PUBSUB_HUB: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]{0,127}$/, 'a letter, then letters, digits or underscores')
    .default('progress'),
  /** How often an SSE stream looks for new events written by other instances. */
  PROGRESS_POLL_MS: integerFromString(250, 20, 10_000),
  /** Comment lines on idle SSE streams, so proxies keep them open. */
  SSE_HEARTBEAT_MS: integerFromString(15_000, 1_000, 120_000),
  API_KEY_PEPPER: optionalString.pipe(z.string().min(32, 'at least 32 characters when set').optional()),
  /**
   * Seals OpenWebUI connection secrets (AES-256-GCM) in Cosmos: 32 random bytes, base64. Unset: connections
   * cannot be created. In Azure read from Key Vault (`CONNECTION_SECRETS_KEY_SECRET_URI`); never change it
   * while connections exist.
   */
  CONNECTION_SECRETS_KEY: optionalString.pipe(sealingKeySchema.optional()),
  /** Key Vault secret holding `CONNECTION_SECRETS_KEY`; wins over it. */
  CONNECTION_SECRETS_KEY_SECRET_URI: secretUri,
  /**
   * Encrypts webhook signing secrets at rest (AES-256-GCM): 32 random bytes, base64. Required in production
   * (a Key Vault reference there); without it, development stores them unencrypted.
   */
  WEBHOOK_SECRET_KEY: optionalString.pipe(
    z
      .string()
      .refine((value) => Buffer.from(value, 'base64').length === 32, '32 bytes, base64')
      .optional(),
  ),
  /** Webhook URLs must be https; unset means true in production and false elsewhere (local receivers). */
  WEBHOOK_HTTPS_ONLY: optionalString.pipe(z.enum(['true', 'false']).optional()),
  /**
   * Addresses webhooks may reach although they are private, loopback or link-local (comma-separated CIDRs),
   * e.g. an internal receiver you trust, or `127.0.0.1/32` for a local one. Empty: none.
   */
  WEBHOOK_ALLOWED_CIDRS: z.string().default(''),
  /** Waits between delivery attempts (seconds, comma-separated): its length + 1 attempts, then `dead`. */
  WEBHOOK_RETRY_DELAYS_SECONDS: z
    .string()
    .default('5,300,1800,7200,18000,36000,36000')
    .refine((value) => /^\d+(,\d+){0,19}$/.test(value), 'comma-separated whole seconds, at most 20'),
  /** Deadline of one delivery attempt (connect, send, read the status), in milliseconds. */
  WEBHOOK_TIMEOUT_MS: integerFromString(10_000, 100, 60_000),
  /** Key Vault secret holding `WEBHOOK_SECRET_KEY`; wins over it. */
  WEBHOOK_SECRET_KEY_SECRET_URI: secretUri,
  /** Key Vault secret holding the API-key pepper; wins over `API_KEY_PEPPER`. */
  API_KEY_PEPPER_SECRET_URI: secretUri,
  /** Application Insights; unset turns telemetry off (nothing is collected or sent). */
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalString,
  /** Share of traces kept (0-1); a job's spans share one trace, so a job is kept or dropped whole. */
  APPLICATIONINSIGHTS_SAMPLING_RATIO: z.coerce.number().min(0).max(1).default(1),
  /** How long a secret read from Key Vault is used before it is read again (a refused key is re-read at once). */
  SECRET_CACHE_TTL_SECONDS: integerFromString(300, 1, 86_400),
});

/** Rules across keys, which `parseConfig` applies after each key's own schema. */
const checkedConfigSchema = configSchema.superRefine((config, context) => {
  if (config.NODE_ENV !== 'production') return;
  if (config.AUTH_DEV_ISSUER_URL !== undefined) {
    context.addIssue({
      code: 'custom',
      path: ['AUTH_DEV_ISSUER_URL'],
      message: 'must not be set when NODE_ENV is production: the local development issuer signs any token',
    });
  }
  for (const key of [
    'ANTHROPIC_API_KEY_SECRET_URI',
    'API_KEY_PEPPER_SECRET_URI',
    'WEBHOOK_SECRET_KEY_SECRET_URI',
    'CONNECTION_SECRETS_KEY_SECRET_URI',
  ] as const) {
    if (config[key]?.startsWith('http://')) {
      context.addIssue({
        code: 'custom',
        path: [key],
        message: 'must be an https URL when NODE_ENV is production (http is for the local Key Vault only)',
      });
    }
  }
  // Signing keys fetched over plain HTTP could be swapped by anyone on the path.
  if (config.WEBHOOK_SECRET_KEY === undefined && config.WEBHOOK_SECRET_KEY_SECRET_URI === undefined) {
    context.addIssue({
      code: 'custom',
      path: ['WEBHOOK_SECRET_KEY'],
      message: 'is required when NODE_ENV is production: webhook signing secrets are stored encrypted',
    });
  }
  if (config.WEBHOOK_HTTPS_ONLY === 'false') {
    context.addIssue({
      code: 'custom',
      path: ['WEBHOOK_HTTPS_ONLY'],
      message: 'must not be false when NODE_ENV is production',
    });
  }
  config.AUTH_ISSUERS.forEach((issuer, index) => {
    if (!(issuer.jwksUri ?? issuer.issuer).startsWith('https://')) {
      context.addIssue({
        code: 'custom',
        path: ['AUTH_ISSUERS', index],
        message: 'jwksUri (or, without it, issuer) must be an https URL when NODE_ENV is production',
      });
    }
  });
});

export type AppConfig = z.infer<typeof configSchema>;

/** Thrown at start-up when settings are missing or malformed; lists every bad key at once. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates an environment; pure so tests can feed it any map. */
export function parseConfig(env: Record<string, string | undefined>): AppConfig {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(configSchema.shape)) picked[key] = env[key];
  const result = checkedConfigSchema.safeParse(picked);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return result.data;
}

let cached: AppConfig | undefined;

/** The process configuration, read from the environment once. */
export function getConfig(): AppConfig {
  cached ??= parseConfig(process.env);
  return cached;
}

/**
 * Which LLM adapter to build: the explicit `LLM_PROVIDER`, else anthropic when an API key (or its Key Vault
 * secret) is configured, else offline.
 */
export function resolveLlmProvider(config: AppConfig): 'offline' | 'anthropic' {
  const keyConfigured =
    config.ANTHROPIC_API_KEY !== undefined || config.ANTHROPIC_API_KEY_SECRET_URI !== undefined;
  return config.LLM_PROVIDER ?? (keyConfigured ? 'anthropic' : 'offline');
}

/** The blob/queue/table connection string the app uses for its own data (uploads). */
export function storageConnectionString(config: AppConfig): string {
  return config.STORAGE_CONNECTION_STRING ?? config.AzureWebJobsStorage;
}

/** Whether webhook URLs must be https: explicitly, else in production only. */
export function webhookHttpsOnly(config: AppConfig): boolean {
  return (config.WEBHOOK_HTTPS_ONLY ?? (config.NODE_ENV === 'production' ? 'true' : 'false')) === 'true';
}
