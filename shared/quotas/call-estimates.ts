import { z } from 'zod';
import type { StructuredRequest, TokenUsage } from '../llm/port';
import { costMicroUsd } from '../llm/pricing';

/**
 * What an LLM call is expected to use and can use at most, before it is sent. The prompt is known, so only
 * its token count is estimated; the output is bounded by `max_tokens`, and expected from the outputs of the
 * same kind of call seen before (its history).
 */

/**
 * Prompt tokens are estimated from bytes: Claude tokenizers average about 3.5-4 characters a token on English
 * text and JSON, so 3 bytes a token overestimates, and the estimate errs on the side of holding too much.
 */
const bytesPerTokenEstimate = 3;

/** Framing the provider adds around the prompt blocks and the output schema (roles, delimiters, format). */
const promptFramingTokens = 64;

/** Recent outputs kept per kind of call; the estimate follows the model and prompts as they change. */
export const outputHistoryLength = 32;

/** Fewer outputs than this are not a history yet: the call is expected to use all of its `max_tokens`. */
export const minimumOutputHistory = 3;

/** The estimate is this percentile of the recent outputs (nearest rank). */
const outputPercentile = 0.95;

const schemaBytes = new WeakMap<object, number>();

/** Bytes of the output schema as JSON: it is sent with the prompt and billed as input. */
function outputSchemaBytes(schema: z.ZodType<unknown>): number {
  const known = schemaBytes.get(schema);
  if (known !== undefined) return known;
  const bytes = Buffer.byteLength(JSON.stringify(z.toJSONSchema(schema, { unrepresentable: 'any' })), 'utf8');
  schemaBytes.set(schema, bytes);
  return bytes;
}

/** An upper estimate of the prompt tokens one request is billed for. */
export function estimatePromptTokens(request: StructuredRequest<unknown>): number {
  const promptBytes =
    Buffer.byteLength(request.instructions, 'utf8') +
    Buffer.byteLength(request.context, 'utf8') +
    Buffer.byteLength(request.task, 'utf8') +
    outputSchemaBytes(request.schema);
  return Math.ceil(promptBytes / bytesPerTokenEstimate) + promptFramingTokens;
}

/** Calls of one kind (model, purpose and iteration) share one output history. */
export function historyKey(request: StructuredRequest<unknown>): string {
  return `${request.model} ${request.purpose.kind} ${request.purpose.iterationId}`;
}

/** The history with one more call's output (or cost), the oldest dropped past `outputHistoryLength`. */
export function withOutput(history: readonly number[] | undefined, used: number): number[] {
  return [...(history ?? []), used].slice(-outputHistoryLength);
}

/** A high percentile of the outputs, or undefined when they are too few to be a history. */
function highPercentile(outputs: readonly number[]): number | undefined {
  if (outputs.length < minimumOutputHistory) return undefined;
  const sorted = [...outputs].sort((a, b) => a - b);
  return sorted[Math.ceil(outputPercentile * sorted.length) - 1];
}

/**
 * What a call of `kind` is expected to use, from `histories` (outputs or costs by kind): a high percentile of
 * its kind's recent calls; while the kind has too few, of the recent calls of every iteration on the same
 * model and purpose (a new tenant learns from its first few calls, not from a few per iteration); undefined
 * while those are too few as well.
 */
export function expectedFromHistory(
  histories: Readonly<Record<string, readonly number[]>>,
  kind: string,
): number | undefined {
  const family = kind.slice(0, kind.lastIndexOf(' ') + 1);
  const related = () =>
    Object.entries(histories)
      .filter(([key]) => key.startsWith(family))
      .flatMap(([, values]) => values);
  return highPercentile(histories[kind] ?? []) ?? highPercentile(related());
}

/**
 * The output tokens a call of `kind` is expected to use (see `expectedFromHistory`); all of `max_tokens`
 * without a history. Never more than `max_tokens`.
 */
export function expectedOutputTokens(
  histories: Readonly<Record<string, readonly number[]>>,
  kind: string,
  maxTokens: number,
): number {
  const expected = expectedFromHistory(histories, kind);
  return expected === undefined ? maxTokens : Math.min(maxTokens, Math.max(1, expected));
}

/**
 * The most a call can cost when sent with `maxOutputTokens`: every prompt token priced as a 1-hour cache
 * write (the dearest way input is billed) and every allowed output token used.
 */
export function costCeiling(
  model: string,
  promptTokens: number,
  at: Date,
): (maxOutputTokens: number) => number {
  return (maxOutputTokens) =>
    costMicroUsd(
      model,
      {
        inputTokens: 0,
        outputTokens: maxOutputTokens,
        cacheCreationInputTokens: promptTokens,
        cacheCreation1hInputTokens: promptTokens,
        cacheCreation5mInputTokens: 0,
        cacheReadInputTokens: 0,
      },
      at,
    );
}

/** All tokens a call used, cache reads and writes included: what counts against tokens/day. */
export function totalTokens(usage: TokenUsage): number {
  return usage.inputTokens + usage.outputTokens + usage.cacheCreationInputTokens + usage.cacheReadInputTokens;
}
