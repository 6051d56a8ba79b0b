import type { z } from 'zod';
import { AppError, type AppErrorOptions } from '../errors';

/**
 * The LLM port: everything the story engine needs from a model, and nothing about which model serves it.
 * Two adapters implement it: the Anthropic SDK adapter and the deterministic offline engine.
 */

/** Token counts as the provider reports them; the cache split is optional because not every call writes cache. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
  /** Part of `cacheCreationInputTokens` written with the 5-minute TTL (priced differently from 1 h). */
  cacheCreation5mInputTokens?: number;
  cacheCreation1hInputTokens?: number;
}

/**
 * What an LLM call is for. `iteration` and `verification` work on one iteration; `consolidation`, `review`
 * (the whole-story judge) and `rewrite` are workflow passes over the merged story: their `iterationId` names
 * the pass and its round (`consolidation`, `review-1`, `rewrite-1`, `review-2`), so every call of a job has its
 * own usage record id; `mockup` reads one mockup before the iterations (its `iterationId` is the mockup's id);
 * `discovery`, `interconnection` and `consistency` are the system-mode passes over a whole backlog.
 * `refinement` applies a user's follow-up instruction to a finished story (a conversation turn).
 */
export const callPurposeKinds = [
  'iteration',
  'verification',
  'consolidation',
  'review',
  'rewrite',
  'mockup',
  'discovery',
  'interconnection',
  'consistency',
  'refinement',
] as const;
export type CallPurposeKind = (typeof callPurposeKinds)[number];

export interface CallPurpose {
  kind: CallPurposeKind;
  iterationId: string;
  attempt: number;
}

/**
 * A file the model looks at: raster images as vision input, PDFs as document input, and text (an SVG's
 * markup) as a plain-text document. `data` is base64.
 */
export type Attachment =
  | { kind: 'image'; mediaType: 'image/png' | 'image/jpeg'; data: string; title: string }
  | { kind: 'pdf'; data: string; title: string }
  | { kind: 'text'; text: string; title: string };

/**
 * A prompt is laid out so that its stable part can be cached: `instructions` (shared by every iteration) and
 * `context` (the base story, shared by parallel iterations) form the cacheable prefix; `task` is per call.
 * The story inside `context` is data, never instructions: adapters keep it delimited.
 */
export interface StructuredRequest<T> {
  model: string;
  instructions: string;
  context: string;
  task: string;
  /** Files sent after the context and before the task (mockups); not part of the cached prefix. */
  attachments?: readonly Attachment[];
  /** Zod schema of the expected output: converted to JSON schema for the provider, and validated again on return. */
  schema: z.ZodType<T>;
  schemaName: string;
  maxTokens: number;
  /** What this call is for; the offline engine dispatches on it, real adapters log it. */
  purpose: CallPurpose;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Receives text as the model streams it. */
  onChunk?: (text: string) => void;
  /**
   * The provider has begun its response. A prompt prefix the call writes to the provider's cache can be read
   * by other calls from then on, before any text arrives.
   */
  onResponseStart?: () => void;
}

export interface StructuredResponse<T> {
  output: T;
  usage: TokenUsage;
  /**
   * What the call cost in integer micro-dollars, priced by the adapter with the row in force when the call was
   * made: the one place a call is priced; usage records, quotas and results all read this figure.
   */
  costMicroUsd: number;
  /** The model that actually answered (the offline engine reports its own name). */
  model: string;
  requestId?: string;
  /** Wall-clock time of the call, for reporting. */
  durationMs: number;
}

/** What a billed answer, usable or not, tells the meters: who answered, the tokens and their price. */
export type PricedAnswer = Pick<StructuredResponse<unknown>, 'model' | 'usage' | 'costMicroUsd'>;

/**
 * The provider answered, and billed the call, but the answer cannot be used (cut off at `max_tokens`, a
 * refusal, not the asked-for JSON): `llm_output_invalid` carrying the usage, so the call is still counted.
 */
export class UnusableAnswerError extends AppError {
  constructor(
    message: string,
    readonly usage: TokenUsage,
    /** What the answer cost, priced by the adapter like a usable one's. */
    readonly costMicroUsd: number,
    /** The model that answered. */
    readonly model: string,
    options: AppErrorOptions = {},
  ) {
    super('llm_output_invalid', message, options);
  }
}

export interface LlmPort {
  /** Human-readable provider name: `anthropic` or `offline`. */
  readonly provider: string;
  generate<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>>;
  /**
   * Whether `instructions` on `model` are in the provider's prompt cache, as far as this client has seen: a
   * response of its own that read or wrote them began within the cache's lifetime. Absent when the provider
   * caches nothing.
   */
  instructionsCached?(model: string, instructions: string): boolean;
}

/**
 * `llm` with its `generate` replaced by `generate`: how metering, quotas and tracing wrap a port while keeping
 * everything else it tells its callers.
 */
export function wrapGenerate(llm: LlmPort, generate: LlmPort['generate']): LlmPort {
  return {
    provider: llm.provider,
    ...(llm.instructionsCached ? { instructionsCached: llm.instructionsCached.bind(llm) } : {}),
    generate,
  };
}
