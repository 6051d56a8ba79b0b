import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { AppError } from '../../errors';
import type { LlmPort, StructuredRequest, StructuredResponse } from '../../llm/port';
import { costMicroUsd } from '../../llm/pricing';
import { decodeEngineText, engineOutputSchema, type EngineOutput, type EngineRequest } from '../prompts';
import {
  decodeSystemText,
  systemOutputSchema,
  type SystemOutput,
  type SystemRequest,
} from '../system-prompts';
import { offlineIteration } from './iteration-rules';
import { offlineMockupInventory } from './mockup-rules';
import { offlineConsolidation, offlineReview, offlineRewrite } from './pass-rules';
import { offlineConsistency, offlineDiscovery, offlineInterconnection } from './system-rules';
import { offlineRefinement } from './refinement-rules';
import { offlineVerification } from './verification-rules';

/** The offline engine's model name: never a Claude id, so its output cannot be mistaken for Claude's. */
export const offlineModel = 'user-story-agent-offline-1';

/**
 * A value as a model writes it under the wire schema, where a field with a default is optional: every field
 * left at its default is omitted, at any depth (parsing fills it in again).
 */
function withoutDefaults(schema: z.ZodType, value: unknown): unknown {
  const inner = schema instanceof z.ZodDefault ? (schema.unwrap() as z.ZodType) : schema;
  if (inner instanceof z.ZodArray && Array.isArray(value)) {
    return value.map((element: unknown) => withoutDefaults(inner.element as z.ZodType, element));
  }
  if (!(inner instanceof z.ZodObject) || typeof value !== 'object' || value === null) return value;
  const fields: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const fieldSchema = inner.shape[key] as z.ZodType | undefined;
    if (!fieldSchema) continue;
    if (fieldSchema instanceof z.ZodDefault && isDeepStrictEqual(field, fieldSchema.def.defaultValue))
      continue;
    fields[key] = withoutDefaults(fieldSchema, field);
  }
  return fields;
}

/** The JSON text a model would return: validated against the schema, the fields it leaves empty omitted. */
function modelAnswer<T>(schema: z.ZodType<T>, answer: unknown): string {
  return JSON.stringify(withoutDefaults(schema, schema.parse(answer)));
}

/**
 * Answers a decoded engine request with the offline rules, as the JSON text a model would return: the shared
 * output object (`engineOutputSchema`) with only the fields its purpose writes. Shared by the offline adapter
 * and the local Messages API server's responder.
 */
export function answerEngineRequest(request: EngineRequest): string {
  return modelAnswer(engineOutputSchema, engineAnswer(request));
}

function systemAnswer(request: SystemRequest): Partial<SystemOutput> {
  const context = request.context ?? { actors: [], entities: [], screens: [], vocabulary: [] };
  switch (request.pass) {
    case 'discovery':
      return offlineDiscovery(request.backlog);
    case 'interconnection':
      return offlineInterconnection(request.backlog, context);
    case 'consistency':
      return offlineConsistency(request.backlog, context);
  }
}

/**
 * Answers any prompt the engine sends (a single-story request, or a system pass over a backlog) from its
 * text alone, as the JSON a model would return.
 */
export function answerPrompt(prompt: string): string {
  const system = decodeSystemText(prompt);
  if (system) return modelAnswer(systemOutputSchema, systemAnswer(system));
  return answerEngineRequest(decodeEngineText(prompt));
}

function engineAnswer(request: EngineRequest): Partial<EngineOutput> {
  const { story, iterationId } = request;
  switch (request.purpose) {
    case 'iteration':
      if (!iterationId)
        throw new AppError('validation_failed', 'An iteration request needs its iteration id.');
      return offlineIteration(story, iterationId, request.feedback);
    case 'verification': {
      if (!iterationId || !request.proposal) {
        throw new AppError('validation_failed', 'A verification request needs the iteration and its output.');
      }
      const { score, issues } = offlineVerification(story, iterationId, request.proposal);
      return { score, feedback: issues };
    }
    case 'consolidation':
      return offlineConsolidation(story, request.proposedSplit ?? []);
    case 'review':
      return offlineReview(story);
    case 'rewrite':
      return offlineRewrite(story, request.reviewIssues ?? []);
    case 'refinement':
      if (request.instruction === undefined) {
        throw new AppError('validation_failed', 'A refinement request needs the user instruction.');
      }
      return offlineRefinement(story, request.instruction);
    case 'mockup':
      throw new AppError('validation_failed', 'A mockup request is answered from its attachments.');
    case 'discovery':
    case 'interconnection':
    case 'consistency':
      throw new AppError('validation_failed', 'A system pass request is answered from its backlog.');
  }
}

/** Roughly four characters per token, the usual rule of thumb for English prose and JSON. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function cancelled(signal: AbortSignal): AppError {
  return new AppError('cancelled', 'The LLM call was cancelled.', { cause: signal.reason });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(cancelled(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      if (signal) reject(cancelled(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Settings of the offline adapter. */
export interface OfflineAdapterOptions {
  /** `OFFLINE_LATENCY_MS`: how long each call takes, spread over the streamed chunks. */
  latencyMs?: number;
  /** How many chunks the answer is streamed in. */
  chunks?: number;
}

/**
 * The offline engine as an `LlmPort`: deterministic, rule-based answers decoded from the prompt text alone
 * (as a model would see it), streamed in chunks, validated against the request's schema like a real answer.
 */
export function createOfflineAdapter(options: OfflineAdapterOptions = {}): LlmPort {
  const latencyMs = Math.max(0, options.latencyMs ?? 0);
  const chunkCount = Math.max(1, options.chunks ?? 8);
  return {
    provider: 'offline',
    async generate<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> {
      const started = performance.now();
      const { signal } = request;
      if (signal?.aborted) throw cancelled(signal);
      const prompt = `${request.instructions}\n\n${request.context}\n\n${request.task}`;
      const text =
        request.purpose.kind === 'mockup'
          ? JSON.stringify(await offlineMockupInventory(request.attachments ?? []))
          : answerPrompt(prompt);

      const timeoutMs = request.timeoutMs;
      const timesOut = timeoutMs !== undefined && latencyMs > timeoutMs;
      const budget = timesOut ? timeoutMs : latencyMs;
      const size = Math.ceil(text.length / chunkCount);
      request.onResponseStart?.();
      for (let offset = 0; offset < text.length; offset += size) {
        if (budget > 0) await sleep(budget / chunkCount, signal);
        if (timesOut && offset + size >= text.length) {
          throw new AppError('upstream_timeout', `The offline engine did not answer within ${timeoutMs} ms.`);
        }
        request.onChunk?.(text.slice(offset, offset + size));
      }

      const parsed = request.schema.safeParse(JSON.parse(text));
      if (!parsed.success) {
        throw new AppError('llm_output_invalid', `Offline output does not match ${request.schemaName}.`);
      }
      const usage = {
        inputTokens: estimateTokens(prompt),
        outputTokens: estimateTokens(text),
        cacheCreationInputTokens: 0,
        cacheReadInputTokens: 0,
      };
      return {
        output: parsed.data,
        model: offlineModel,
        usage,
        costMicroUsd: costMicroUsd(offlineModel, usage, new Date()),
        durationMs: Math.round(performance.now() - started),
      };
    },
  };
}
