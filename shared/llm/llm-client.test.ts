import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config';
import { AppError } from '../errors';
import { anthropicAdapterOptionsFromConfig, createLlmClient } from './llm-client';

const API_KEY = 'sk-ant-test-key-that-is-long-enough';

describe('createLlmClient', () => {
  it('maps the ANTHROPIC_* settings and refuses a configuration without a key', () => {
    const config = parseConfig({
      ANTHROPIC_API_KEY: API_KEY,
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:4010',
      ANTHROPIC_MAX_RETRIES: '1',
    });
    expect(anthropicAdapterOptionsFromConfig(config)).toEqual({
      apiKey: API_KEY,
      baseURL: 'http://127.0.0.1:4010',
      timeoutMs: 120_000,
      maxRetries: 1,
    });
    expect(() => anthropicAdapterOptionsFromConfig(parseConfig({}))).toThrow(AppError);
  });

  it('builds the provider the settings choose, and the one a caller names', () => {
    expect(createLlmClient(parseConfig({})).provider).toBe('offline');
    expect(createLlmClient(parseConfig({ ANTHROPIC_API_KEY: API_KEY })).provider).toBe('anthropic');
    expect(
      createLlmClient(parseConfig({ ANTHROPIC_API_KEY: API_KEY }), { provider: 'offline' }).provider,
    ).toBe('offline');
    expect(() => createLlmClient(parseConfig({}), { provider: 'anthropic' })).toThrow(/ANTHROPIC_API_KEY/);
  });
});
