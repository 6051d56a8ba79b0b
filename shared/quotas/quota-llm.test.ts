import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { StructuredRequest } from '../llm/port';
import { costMicroUsd } from '../llm/pricing';
import { estimateCall, totalTokens } from './quota-llm';

const request: StructuredRequest<{ ok: boolean }> = {
  model: 'claude-sonnet-5-5',
  instructions: 'a'.repeat(3_000),
  context: 'b'.repeat(2_999),
  task: 'c',
  schema: z.object({ ok: z.boolean() }),
  schemaName: 'answer',
  maxTokens: 1_000,
  purpose: { kind: 'iteration', iterationId: 'validation', attempt: 1 },
};
const at = new Date('2026-11-22T12:00:00Z');

describe('estimateCall', () => {
  it('reserves the prompt at 3 bytes a token plus max_tokens', () => {
    expect(estimateCall(request, at).tokens).toBe(2_000 + 1_000);
  });

  it('prices the estimate above any way the same call can be billed', () => {
    const estimate = estimateCall(request, at).microUsd;
    const plain = costMicroUsd(
      request.model,
      { inputTokens: 2_000, outputTokens: 1_000, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 },
      at,
    );
    const cachedWrite = costMicroUsd(
      request.model,
      { inputTokens: 0, outputTokens: 1_000, cacheCreationInputTokens: 2_000, cacheReadInputTokens: 0 },
      at,
    );
    expect(estimate).toBeGreaterThanOrEqual(cachedWrite);
    expect(estimate).toBeGreaterThan(plain);
  });

  it('refuses to estimate an unpriced model rather than reserve nothing', () => {
    expect(() => estimateCall({ ...request, model: 'nobody-knows-1' }, at)).toThrow(/No price/);
  });
});

describe('totalTokens', () => {
  it('counts cache reads and writes against the daily token limit', () => {
    expect(
      totalTokens({ inputTokens: 1, outputTokens: 2, cacheCreationInputTokens: 3, cacheReadInputTokens: 4 }),
    ).toBe(10);
  });
});
