import { resolveLlmProvider, type AppConfig } from '../config';
import { createOfflineAdapter } from '../engine/offline/offline-adapter';
import { AppError } from '../errors';
import { createAnthropicAdapter, type AnthropicAdapterOptions, type ApiKeySource } from './anthropic-adapter';
import type { LlmPort } from './port';

export type LlmProvider = 'offline' | 'anthropic';

/**
 * The Anthropic adapter's options from the app settings (`ANTHROPIC_BASE_URL`, `ANTHROPIC_TIMEOUT_MS`,
 * `ANTHROPIC_MAX_RETRIES`) and a key: `apiKey` (the service reads it through its secret provider), else
 * `ANTHROPIC_API_KEY`. Throws `AppError('internal')` without a key, so a composition root fails at start-up
 * rather than on the first call.
 */
export function anthropicAdapterOptionsFromConfig(
  config: AppConfig,
  apiKey?: ApiKeySource,
): AnthropicAdapterOptions {
  const key = apiKey ?? config.ANTHROPIC_API_KEY;
  if (key === undefined) {
    throw new AppError('internal', 'The anthropic LLM provider needs ANTHROPIC_API_KEY.');
  }
  return {
    apiKey: key,
    ...(config.ANTHROPIC_BASE_URL === undefined ? {} : { baseURL: config.ANTHROPIC_BASE_URL }),
    timeoutMs: config.ANTHROPIC_TIMEOUT_MS,
    maxRetries: config.ANTHROPIC_MAX_RETRIES,
  };
}

/**
 * The one place an LLM client is built from settings, for the service and the command line alike: the
 * offline engine or the Anthropic adapter, as `provider` (default: `LLM_PROVIDER`, else Anthropic when a key
 * is configured) says.
 */
export function createLlmClient(
  config: AppConfig,
  options: { provider?: LlmProvider; apiKey?: ApiKeySource } = {},
): LlmPort {
  const provider = options.provider ?? resolveLlmProvider(config);
  if (provider === 'offline') return createOfflineAdapter({ latencyMs: config.OFFLINE_LATENCY_MS });
  return createAnthropicAdapter(anthropicAdapterOptionsFromConfig(config, options.apiKey));
}
