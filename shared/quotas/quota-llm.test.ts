import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toAppError } from '../errors';
import { UnusableAnswerError, type LlmPort, type StructuredRequest } from '../llm/port';
import { defaultPlans } from '../plans/plan';
import { quotaLlm } from './quota-llm';
import type { QuotaService } from './quota-service';

/**
 * How a billed but unusable answer is reported, by what capped its `max_tokens`. The quota service itself is
 * exercised against Cosmos in test/service/quotas.test.ts; here it answers as told.
 */
const request: StructuredRequest<{ ok: boolean }> = {
  model: 'claude-sonnet-5-5',
  instructions: 'i',
  context: 'c',
  task: 't',
  schema: z.object({ ok: z.boolean() }),
  schemaName: 'engine_output',
  maxTokens: 4096,
  purpose: { kind: 'iteration', iterationId: 'validation', attempt: 1 },
};

const usage = { inputTokens: 10, outputTokens: 100, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };

async function failureOf(
  reserved: { maxOutputTokens: number; loweredBy?: 'budget' | 'tokens' },
  stopReason: string,
): Promise<{ code: string; message: string }> {
  const quotas = {
    reserveWhenFree: () => Promise.resolve(reserved),
    settle: () => Promise.resolve(),
  } as unknown as QuotaService;
  const llm: LlmPort = {
    provider: 'test',
    generate: () =>
      Promise.reject(
        new UnusableAnswerError('The LLM output for "engine_output" was cut off.', usage, 1, 'm', {
          details: { stopReason },
        }),
      ),
  };
  const limits = defaultPlans[0]?.limits;
  if (!limits) throw new Error('no default plan');
  const metered = quotaLlm(llm, quotas, { tenantId: 't', userId: 'u', jobId: 'j', limits });
  const error = toAppError(await metered.generate(request).catch((thrown: unknown) => thrown));
  return { code: error.code, message: error.message };
}

describe('quotaLlm: an answer that cannot be used', () => {
  it('is the limit’s refusal when it was cut off at a max_tokens that limit lowered', async () => {
    const tokens = await failureOf({ maxOutputTokens: 300, loweredBy: 'tokens' }, 'max_tokens');
    expect(tokens.code).toBe('quota_exceeded');
    expect(tokens.message).toContain('max_tokens 300, lowered from 4096');
    const budget = await failureOf({ maxOutputTokens: 300, loweredBy: 'budget' }, 'max_tokens');
    expect(budget.code).toBe('budget_exceeded');
  });

  it('stays llm_output_invalid when its max_tokens was not lowered, or it failed for another reason', async () => {
    expect((await failureOf({ maxOutputTokens: 4096 }, 'max_tokens')).code).toBe('llm_output_invalid');
    const lowered = await failureOf({ maxOutputTokens: 300, loweredBy: 'tokens' }, 'end_turn');
    expect(lowered.code).toBe('llm_output_invalid');
    expect(lowered.message).toContain('lowered from 4096');
  });
});
