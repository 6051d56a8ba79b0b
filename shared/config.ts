import { z } from 'zod';
import { issuerConfigSchema } from './auth/issuer-config';

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
  AUTH_ISSUERS: jsonArray(issuerConfigSchema),
  AUTH_DEV_ISSUER_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  API_KEY_PEPPER: optionalString.pipe(z.string().min(32, 'at least 32 characters when set').optional()),
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
  // Signing keys fetched over plain HTTP could be swapped by anyone on the path.
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

/** The blob/queue/table connection string the app uses for its own data (uploads). */
export function storageConnectionString(config: AppConfig): string {
  return config.STORAGE_CONNECTION_STRING ?? config.AzureWebJobsStorage;
}
