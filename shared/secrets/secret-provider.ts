import { configSchema, type AppConfig } from '../config';
import { AppError } from '../errors';

/**
 * Secrets the app reads, each by its plain setting (local use) or by the Key Vault secret URI in its
 * `<NAME>_SECRET_URI` setting, which wins. To add one: put both settings in `shared/config.ts` (the plain
 * one's schema also validates the value read from the vault) and a line here.
 */
export const secretSettings = {
  ANTHROPIC_API_KEY: 'ANTHROPIC_API_KEY_SECRET_URI',
  API_KEY_PEPPER: 'API_KEY_PEPPER_SECRET_URI',
  WEBHOOK_SECRET_KEY: 'WEBHOOK_SECRET_KEY_SECRET_URI',
  CONNECTION_SECRETS_KEY: 'CONNECTION_SECRETS_KEY_SECRET_URI',
} as const satisfies Partial<Record<keyof AppConfig, keyof AppConfig>>;

export type SecretName = keyof typeof secretSettings;

/** Where one secret comes from: a vault secret URI, or a value given directly. */
export type SecretSource = { uri: string } | { value: string };

/** Reads a secret's current value by its URI; implemented by the Key Vault adapter. */
export interface SecretReader {
  read(secretUri: string): Promise<string>;
}

/** The port the app reads secrets through; values are never logged or put in errors. */
export interface SecretProvider {
  /** The secret's value (cached up to the TTL), or undefined when neither of its settings is set. */
  get(name: SecretName): Promise<string | undefined>;
  /**
   * Reads the secret again now, bypassing the cache: for a credential the other side just refused, so a
   * rotated secret is picked up without a restart. Concurrent refreshes share one read.
   */
  refresh(name: SecretName): Promise<string | undefined>;
}

/** Each secret's source from the settings: the vault URI when set, else the plain value, else nothing. */
export function secretSources(config: AppConfig): Partial<Record<SecretName, SecretSource>> {
  const sources: Partial<Record<SecretName, SecretSource>> = {};
  for (const [name, uriSetting] of Object.entries(secretSettings) as [SecretName, keyof AppConfig][]) {
    const uri = config[uriSetting];
    const value = config[name];
    if (typeof uri === 'string') sources[name] = { uri };
    else if (typeof value === 'string') sources[name] = { value };
  }
  return sources;
}

export interface SecretProviderOptions {
  sources: Partial<Record<SecretName, SecretSource>>;
  reader: SecretReader;
  ttlMs: number;
  now?: () => number;
}

interface CacheEntry {
  value: Promise<string>;
  readAt: number;
  /** Read by `refresh`, i.e. after a refusal: other refused callers may share it. */
  refreshed: boolean;
}

/** Validates a value read from the vault with the plain setting's own schema (e.g. the pepper's length). */
function checkedValue(name: SecretName, value: string): string {
  const parsed = configSchema.shape[name].safeParse(value);
  if (!parsed.success || parsed.data === undefined) {
    throw new AppError('internal', `The Key Vault secret for ${name} is empty or malformed.`);
  }
  return parsed.data;
}

/**
 * Secrets by name with a TTL cache: a value is read once, shared by concurrent callers, and read again after
 * `ttlMs` or on `refresh`. A failed read is not cached, so the next call tries again.
 */
export function createSecretProvider(options: SecretProviderOptions): SecretProvider {
  const now = options.now ?? Date.now;
  const cache = new Map<SecretName, CacheEntry>();

  const read = (name: SecretName, uri: string, refreshed: boolean): Promise<string> => {
    const entry: CacheEntry = {
      value: options.reader.read(uri).then((value) => checkedValue(name, value)),
      readAt: now(),
      refreshed,
    };
    cache.set(name, entry);
    entry.value.catch(() => {
      if (cache.get(name) === entry) cache.delete(name);
    });
    return entry.value;
  };

  return {
    async get(name) {
      const source = options.sources[name];
      if (!source) return undefined;
      if ('value' in source) return source.value;
      const cached = cache.get(name);
      if (cached && now() - cached.readAt < options.ttlMs) return cached.value;
      return read(name, source.uri, false);
    },
    async refresh(name) {
      const source = options.sources[name];
      if (!source) return undefined;
      if ('value' in source) return source.value;
      const cached = cache.get(name);
      // A refresh already under way (started by another refused call) serves this one too.
      if (cached?.refreshed && now() - cached.readAt < refreshCoalesceMs) return cached.value;
      return read(name, source.uri, true);
    },
  };
}

/** Refreshes asked for within this window of the last read share it, so a burst of 401s reads the vault once. */
const refreshCoalesceMs = 1_000;
