import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, resolveLlmProvider } from './config';

describe('LLM settings', () => {
  it('defaults to the offline engine without an API key and to anthropic with one', () => {
    expect(resolveLlmProvider(parseConfig({}))).toBe('offline');
    expect(resolveLlmProvider(parseConfig({ ANTHROPIC_API_KEY: 'sk-test' }))).toBe('anthropic');
    expect(resolveLlmProvider(parseConfig({ ANTHROPIC_API_KEY: '  ' }))).toBe('offline');
  });

  it('lets LLM_PROVIDER override the key-based default in both directions', () => {
    expect(resolveLlmProvider(parseConfig({ LLM_PROVIDER: 'offline', ANTHROPIC_API_KEY: 'sk-test' }))).toBe(
      'offline',
    );
    expect(resolveLlmProvider(parseConfig({ LLM_PROVIDER: 'anthropic' }))).toBe('anthropic');
  });

  it('applies defaults and coerces integers', () => {
    const config = parseConfig({ ANTHROPIC_MAX_RETRIES: '5', ANTHROPIC_BASE_URL: 'http://127.0.0.1:4010' });
    expect(config).toMatchObject({
      ANTHROPIC_TIMEOUT_MS: 120_000,
      ANTHROPIC_MAX_RETRIES: 5,
      OFFLINE_LATENCY_MS: 0,
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:4010',
    });
  });

  it('reports every bad LLM key at once', () => {
    let caught: unknown;
    try {
      parseConfig({ LLM_PROVIDER: 'openai', ANTHROPIC_BASE_URL: 'not a url', OFFLINE_LATENCY_MS: '-1' });
    } catch (error: unknown) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const keys = caught instanceof ConfigError ? caught.issues.map((issue) => issue.split(':')[0]) : [];
    expect(keys).toEqual(
      expect.arrayContaining(['LLM_PROVIDER', 'ANTHROPIC_BASE_URL', 'OFFLINE_LATENCY_MS']),
    );
  });
});
