import { z } from 'zod';
import { callPurposeKinds, type TokenUsage } from '../llm/port';
import { iterationIdSchema, workflowPassIdSchema } from './catalog';
import { changeSchema, findingSchema, rejectedChangeSchema } from './patch';
import { reviewSchema } from './review';

/**
 * Usage as jobs report it. `costMicroUsd` is the exact integer sum; `costUsd` is derived from it for display,
 * so sums never accumulate floating-point drift.
 */
export const usageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadInputTokens: z.number().int().nonnegative(),
  cacheCreationInputTokens: z.number().int().nonnegative(),
  costMicroUsd: z.number().int().nonnegative(),
  costUsd: z.number().nonnegative(),
});
export type Usage = z.infer<typeof usageSchema>;

/** The judge's verdict on one iteration: `passed` when the score reaches the runner's threshold. */
export const verificationSchema = z.object({
  score: z.number().min(0).max(1),
  passed: z.boolean(),
  issues: z.array(z.string()),
});
export type Verification = z.infer<typeof verificationSchema>;

/** One LLM call, priced when it was made: the unit usage records and audits are built from. */
export const llmCallSchema = z.object({
  kind: z.enum(callPurposeKinds),
  attempt: z.number().int().positive(),
  model: z.string(),
  requestId: z.string().optional(),
  at: z.iso.datetime(),
  durationMs: z.number().int().nonnegative(),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadInputTokens: z.number().int().nonnegative(),
  cacheCreationInputTokens: z.number().int().nonnegative(),
  costMicroUsd: z.number().int().nonnegative(),
});
export type LlmCall = z.infer<typeof llmCallSchema>;

const jobErrorShape = z.object({ code: z.string(), message: z.string(), retryable: z.boolean() });

/** One iteration's outcome, as stored in a job's `result.iterations` (see the API contract). */
export const iterationResultSchema = z.object({
  id: iterationIdSchema,
  status: z.enum(['applied', 'skipped', 'failed']),
  summary: z.string(),
  changes: z.array(changeSchema),
  /** Proposed edits that failed validation or no longer fitted when merged: reported, never applied. */
  rejected: z.array(rejectedChangeSchema),
  findings: z.array(findingSchema),
  usage: usageSchema,
  durationMs: z.number().int().nonnegative(),
  /** The model that answered (the offline engine reports its own name). */
  model: z.string(),
  /** Iteration calls made: 2 when a failed verification triggered the retry. */
  attempts: z.number().int().nonnegative(),
  /** Every LLM call behind this result, in order; `usage` is their sum. */
  calls: z.array(llmCallSchema),
  verification: verificationSchema.optional(),
  error: jobErrorShape.optional(),
});
export type IterationResult = z.infer<typeof iterationResultSchema>;

/**
 * One workflow pass over the whole story (consolidation, a judge round, a rewrite round), as stored in a job's
 * `result.passes`: what it changed, what it cost, and for the judge its review.
 */
export const passResultSchema = z.object({
  id: workflowPassIdSchema,
  /** 1 for consolidation and the first judge round; rewrite round n is followed by judge round n + 1. */
  round: z.number().int().positive(),
  status: z.enum(['applied', 'skipped', 'failed']),
  summary: z.string(),
  changes: z.array(changeSchema),
  rejected: z.array(rejectedChangeSchema),
  usage: usageSchema,
  durationMs: z.number().int().nonnegative(),
  model: z.string(),
  calls: z.array(llmCallSchema),
  /** Consolidation: each feature the story asks for, with the items that cover it. */
  coverage: z.array(z.object({ feature: z.string(), itemIds: z.array(z.string()) })).optional(),
  /** Consolidation: the smaller stories proposed when the story bundles features. */
  split: z.array(z.string()).optional(),
  /** Judge rounds: the review this round gave. */
  review: reviewSchema.optional(),
  error: jobErrorShape.optional(),
});
export type PassResult = z.infer<typeof passResultSchema>;

/** Zero usage, the start of every sum. */
export function emptyUsage(): Usage {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cacheReadInputTokens: 0,
    cacheCreationInputTokens: 0,
    costMicroUsd: 0,
    costUsd: 0,
  };
}

/** Adds one LLM call's tokens and its cost in micro-dollars. */
export function addCall(usage: Usage, tokens: TokenUsage, costMicroUsd: number): Usage {
  return addUsage(usage, {
    inputTokens: tokens.inputTokens,
    outputTokens: tokens.outputTokens,
    cacheReadInputTokens: tokens.cacheReadInputTokens,
    cacheCreationInputTokens: tokens.cacheCreationInputTokens,
    costMicroUsd,
    costUsd: 0,
  });
}

function addUsage(a: Usage, b: Usage): Usage {
  const costMicroUsd = a.costMicroUsd + b.costMicroUsd;
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadInputTokens: a.cacheReadInputTokens + b.cacheReadInputTokens,
    cacheCreationInputTokens: a.cacheCreationInputTokens + b.cacheCreationInputTokens,
    costMicroUsd,
    costUsd: costMicroUsd / 1_000_000,
  };
}

/** Job usage: the sum over its iterations. */
export function sumUsage(results: readonly { usage: Usage }[]): Usage {
  return results.reduce((total, result) => addUsage(total, result.usage), emptyUsage());
}
