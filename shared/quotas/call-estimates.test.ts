import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { StructuredRequest } from '../llm/port';
import { costMicroUsd } from '../llm/pricing';
import {
  costCeiling,
  estimatePromptTokens,
  expectedFromHistory,
  expectedOutputTokens,
  historyKey,
  minimumOutputHistory,
  outputHistoryLength,
  totalTokens,
  withOutput,
} from './call-estimates';

const schema = z.object({ ok: z.boolean() });
const request: StructuredRequest<{ ok: boolean }> = {
  model: 'claude-sonnet-5-5',
  instructions: 'a'.repeat(3_000),
  context: 'b'.repeat(2_999),
  task: 'c',
  schema,
  schemaName: 'answer',
  maxTokens: 1_000,
  purpose: { kind: 'iteration', iterationId: 'validation', attempt: 1 },
};
const at = new Date('2026-11-22T12:00:00Z');

describe('estimatePromptTokens', () => {
  it('counts the prompt blocks and the output schema at 3 bytes a token, plus framing', () => {
    const schemaBytes = JSON.stringify(z.toJSONSchema(schema)).length;
    expect(estimatePromptTokens(request)).toBe(Math.ceil((6_000 + schemaBytes) / 3) + 64);
  });

  it('grows with the output schema, which is billed as input', () => {
    const wide = z.object({ ok: z.boolean(), reasons: z.array(z.string()), score: z.number() });
    expect(estimatePromptTokens({ ...request, schema: wide })).toBeGreaterThan(estimatePromptTokens(request));
  });
});

describe('expected output tokens', () => {
  const kind = 'claude-sonnet-5-5 iteration validation';

  it('expects all of max_tokens until there is a history', () => {
    expect(expectedOutputTokens({}, kind, 4_096)).toBe(4_096);
    expect(expectedOutputTokens({ [kind]: [10, 20].slice(0, minimumOutputHistory - 1) }, kind, 4_096)).toBe(
      4_096,
    );
  });

  it('takes the 95th percentile (nearest rank) of the kind’s recent outputs, never above max_tokens', () => {
    const history = Array.from({ length: 20 }, (_, index) => (index + 1) * 10);
    expect(expectedOutputTokens({ [kind]: history }, kind, 4_096)).toBe(190);
    expect(expectedOutputTokens({ [kind]: history }, kind, 150)).toBe(150);
    expect(expectedOutputTokens({ [kind]: [300, 100, 200] }, kind, 4_096)).toBe(300);
  });

  it('learns from other iterations on the same model and purpose while the kind has too few outputs', () => {
    const histories = {
      [kind]: [900],
      'claude-sonnet-5-5 iteration security': [300, 100],
      'claude-sonnet-5-5 iteration user-roles': [200],
      'claude-sonnet-5-5 verification security': [5_000, 5_000, 5_000],
      'claude-haiku-5-5 iteration security': [7_000, 7_000, 7_000],
    };
    expect(expectedOutputTokens(histories, kind, 4_096)).toBe(900);
    expect(expectedOutputTokens(histories, 'claude-opus-5-5 iteration validation', 4_096)).toBe(4_096);
  });

  it('has no expected cost until the kind or its family has a history', () => {
    expect(expectedFromHistory({ [kind]: [4_000, 3_000] }, kind)).toBeUndefined();
    expect(expectedFromHistory({ [kind]: [4_000, 3_000, 5_000] }, kind)).toBe(5_000);
  });

  it('keeps the most recent outputs only', () => {
    let history: number[] = [];
    for (let index = 0; index < outputHistoryLength + 5; index++) history = withOutput(history, index);
    expect(history).toHaveLength(outputHistoryLength);
    expect(history[0]).toBe(5);
  });

  it('keeps one history per model, purpose and iteration', () => {
    expect(historyKey(request)).toBe('claude-sonnet-5-5 iteration validation');
  });
});

describe('costCeiling', () => {
  const ceiling = costCeiling(request.model, 2_000, at);

  it('prices a call above any way the same call can be billed', () => {
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
    expect(ceiling(1_000)).toBeGreaterThanOrEqual(cachedWrite);
    expect(ceiling(1_000)).toBeGreaterThan(plain);
  });

  it('grows with max_tokens at the output price', () => {
    expect(ceiling(1_000) - ceiling(0)).toBe(10_000);
  });

  it('refuses to price an unpriced model rather than hold nothing', () => {
    expect(() => costCeiling('nobody-knows-1', 10, at)(1)).toThrow(/No price/);
  });
});

describe('totalTokens', () => {
  it('counts cache reads and writes against the daily token limit', () => {
    expect(
      totalTokens({ inputTokens: 1, outputTokens: 2, cacheCreationInputTokens: 3, cacheReadInputTokens: 4 }),
    ).toBe(10);
  });
});
