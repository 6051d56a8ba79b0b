import { z } from 'zod';

/**
 * Every setting the app reads, with its built-in default (the embedded local stack) where one is safe.
 * `local.settings.sample.json` and the README settings table mirror this schema; a test keeps them in step.
 * Environment variables override `local.settings.json`, which overrides these defaults.
 */
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

const integerFromString = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

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
  UPLOADS_CONTAINER: z.string().min(3).default('uploads'),
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
  ANTHROPIC_API_KEY: optionalString,
  /** Any Messages-API-compatible server, e.g. the local one in `local/messages-api/`. */
  ANTHROPIC_BASE_URL: optionalString.pipe(z.url().optional()),
  ANTHROPIC_TIMEOUT_MS: integerFromString(120_000, 1_000, 600_000),
  /** Retries after the first attempt, for 429/529/5xx and connection failures only. */
  ANTHROPIC_MAX_RETRIES: integerFromString(3, 0, 10),
  /** Added to every offline-engine call so demos and tests can watch and cancel work in progress. */
  OFFLINE_LATENCY_MS: integerFromString(0, 0, 600_000),
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
  const result = configSchema.safeParse(picked);
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

/** Which LLM adapter to build: the explicit `LLM_PROVIDER`, else anthropic when an API key is set, else offline. */
export function resolveLlmProvider(config: AppConfig): 'offline' | 'anthropic' {
  return config.LLM_PROVIDER ?? (config.ANTHROPIC_API_KEY === undefined ? 'offline' : 'anthropic');
}

/** The blob/queue/table connection string the app uses for its own data (uploads). */
export function storageConnectionString(config: AppConfig): string {
  return config.STORAGE_CONNECTION_STRING ?? config.AzureWebJobsStorage;
}
