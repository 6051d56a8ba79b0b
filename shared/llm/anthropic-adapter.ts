import Anthropic, { APIConnectionError, APIConnectionTimeoutError, APIError } from '@anthropic-ai/sdk';
import { transformJSONSchema } from '@anthropic-ai/sdk/lib/transform-json-schema';
import type { Message, MessageCreateParamsBase, Usage } from '@anthropic-ai/sdk/resources/messages';
import { z } from 'zod';
import { AppError, toAppError, type ErrorCode } from '../errors';
import {
  UnusableAnswerError,
  type LlmPort,
  type StructuredRequest,
  type StructuredResponse,
  type TokenUsage,
} from './port';
import { costMicroUsd } from './pricing';
import { attachmentBlock, delimitContext, formatPurpose, PURPOSE_HEADER } from './prompt-layout';

/** One line per attempt, for logs and tests; never carries prompt text or credentials. */
export interface LlmAttemptEvent {
  attempt: number;
  outcome: 'success' | 'retry' | 'failure';
  model: string;
  iterationId: string;
  durationMs: number;
  code?: ErrorCode;
  status?: number;
  requestId?: string;
  /** How long the adapter waits before the next attempt (outcome `retry`). */
  delayMs?: number;
}

/**
 * Where the adapter gets its API key: asked before each call (cheap when the source caches), and asked with
 * `refresh: true` once when Anthropic refuses the key (401), so a key rotated in Key Vault is picked up
 * without a restart.
 */
export type ApiKeySource = (options: { refresh: boolean }) => Promise<string>;

export interface AnthropicAdapterOptions {
  /** A fixed key (CLI, tests) or a source that can re-read a rotated one. */
  apiKey: string | ApiKeySource;
  /** Any Messages-API-compatible server; the SDK default (api.anthropic.com) when absent. */
  baseURL?: string;
  /** Deadline for one `generate` call, retries and waits included; `StructuredRequest.timeoutMs` overrides it. */
  timeoutMs: number;
  /** Retries after the first attempt (so at most `maxRetries + 1` requests per call). */
  maxRetries: number;
  /** Injectable for tests; defaults to the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /**
   * Mark the instructions and context blocks with `cache_control` (default true). Turning it off exists
   * only to measure what caching saves.
   */
  promptCaching?: boolean;
  /** Back-off when the server names no wait: `initialMs` doubling per retry up to `maxMs`, minus up to 25% jitter. */
  backoff?: { initialMs: number; maxMs: number };
  onAttempt?: (event: LlmAttemptEvent) => void;
  /** The clock of `instructionsCached`; injectable for tests. */
  now?: () => Date;
}

/**
 * Spend-limit 429s are recognised by the stable `error.details.error_code` Anthropic sends with them (the
 * SDK exposes it as `APIError.errorCode`), or by an error `type` of `billing_error`. Waiting cannot lift a
 * spend limit, so these are never retried, unlike ordinary rate limits. The message text is not matched:
 * the SDK documents it as free wording.
 */
const SPEND_LIMIT_ERROR_CODES = new Set([
  'enforced_spend_limit_reached',
  'contract_spend_limit_reached',
  'linked_organization_spend_limit_reached',
]);

const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 8_000 };

/**
 * How long instructions count as cached after a response that read or wrote them began: the cache keeps a
 * prefix 5 minutes after its last use (the `ephemeral` default), less a minute for clock skew and the time
 * a call takes to reach the API.
 */
const CACHED_INSTRUCTIONS_TRUST_MS = 4 * 60_000;

/** Per model and instructions text, until when this client may count them as cached. */
class CachedInstructions {
  private readonly until = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => Date) {}

  seen(model: string, instructions: string): void {
    let byText = this.until.get(model);
    if (!byText) {
      byText = new Map();
      this.until.set(model, byText);
    }
    byText.set(instructions, this.now().getTime() + CACHED_INSTRUCTIONS_TRUST_MS);
  }

  has(model: string, instructions: string): boolean {
    return (this.until.get(model)?.get(instructions) ?? 0) > this.now().getTime();
  }
}

/**
 * Builds the Anthropic implementation of the LLM port on `@anthropic-ai/sdk`.
 *
 * Each call streams (`messages.stream`), tells `onResponseStart` when the response begins, forwards text
 * deltas to `onChunk`, remembers for `instructionsCached` which instructions a response read from or wrote
 * to the prompt cache, asks for structured output with `output_config.format` (see `wireSchema`) and
 * validates the answer with the same zod schema. It sends no sampling parameters and no forced tool use:
 * current Sonnet models reject both.
 *
 * Retries are done here, not by the SDK (`maxRetries: 0`), so the policy is explicit: 429 (except spend
 * limits), 408, 409, 5xx, 529, connection failures and a retryable error arriving mid-stream before any
 * text was passed on are retried, honouring `retry-after-ms`/`retry-after` (else exponential back-off with
 * jitter, 0.5 s doubling to 8 s) and `x-should-retry: false`, within the call's deadline: a wait that would
 * pass the deadline fails the call at once with the last error (its `retryAfterSeconds` set for 429s).
 * Everything else fails at once with a project error code. The deadline (`timeoutMs`) covers the whole
 * call, retries and waits included, and ends it with `upstream_timeout`.
 */
export function createAnthropicAdapter(options: AnthropicAdapterOptions): LlmPort {
  const { apiKey } = options;
  const keySource: ApiKeySource = typeof apiKey === 'string' ? () => Promise.resolve(apiKey) : apiKey;
  let current: { key: string; client: Anthropic } | undefined;
  const clientFor = (key: string): Anthropic => {
    if (current?.key !== key) {
      const client = new Anthropic({
        apiKey: key,
        baseURL: options.baseURL ?? null,
        maxRetries: 0,
        timeout: options.timeoutMs,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
      current = { key, client };
    }
    return current.client;
  };
  const promptCaching = options.promptCaching ?? true;
  const report = options.onAttempt ?? (() => undefined);
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const cached = new CachedInstructions(options.now ?? (() => new Date()));

  return {
    provider: 'anthropic',
    instructionsCached: (model, instructions) => promptCaching && cached.has(model, instructions),
    async generate<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> {
      const started = performance.now();
      // Priced with the row in force when the call was made, whatever the retries take.
      const calledAt = new Date();
      const deadline = Date.now() + (request.timeoutMs ?? options.timeoutMs);
      const params = buildParams(request, promptCaching);
      let key = await keySource({ refresh: false });
      let keyRefreshed = false;

      for (let attempt = 1, retries = 0; ; attempt++) {
        const attemptStarted = performance.now();
        const base = { attempt, model: request.model, iterationId: request.purpose.iterationId };
        try {
          const { message, requestId } = await streamOnce(
            clientFor(key),
            params,
            request,
            deadline,
            key,
            (usage) => {
              // Any cache read or write covers the instructions: they are the first cached block of every prompt.
              if ((usage.cache_read_input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0) > 0) {
                cached.seen(request.model, request.instructions);
              }
            },
          );
          const output = parseOutput(message, request.schema, request.schemaName, requestId, calledAt);
          const durationMs = performance.now() - attemptStarted;
          report({ ...base, outcome: 'success', durationMs, ...(requestId ? { requestId } : {}) });
          const usage = toTokenUsage(message.usage);
          return {
            output,
            usage,
            costMicroUsd: costMicroUsd(message.model, usage, calledAt),
            model: message.model,
            ...(requestId ? { requestId } : {}),
            durationMs: performance.now() - started,
          };
        } catch (thrown: unknown) {
          const failure = thrown instanceof AttemptFailure ? thrown : undefined;
          const error = failure?.error ?? toAppError(thrown);
          const durationMs = performance.now() - attemptStarted;
          const event = {
            ...base,
            durationMs,
            code: error.code,
            ...(failure?.status === undefined ? {} : { status: failure.status }),
            ...(failure?.requestId === undefined ? {} : { requestId: failure.requestId }),
          };
          // A refused key may have been rotated: read it again once, and try again at once if it changed.
          if (failure?.status === 401 && !keyRefreshed) {
            keyRefreshed = true;
            const fresh = await keySource({ refresh: true });
            if (fresh !== key) {
              key = fresh;
              report({ ...event, outcome: 'retry', delayMs: 0 });
              continue;
            }
          }
          const delayMs = failure?.retry ? retryDelayMs(failure.headers, attempt, backoff) : undefined;
          if (delayMs === undefined || retries >= options.maxRetries || Date.now() + delayMs >= deadline) {
            report({ ...event, outcome: 'failure' });
            throw error;
          }
          retries += 1;
          report({ ...event, outcome: 'retry', delayMs });
          await sleep(delayMs, request.signal);
        }
      }
    },
  };
}

/** A classified failure of one attempt, with what the retry decision needs. */
class AttemptFailure extends Error {
  readonly retry: boolean;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly headers: Headers | undefined;

  constructor(
    readonly error: AppError,
    facts: { retry?: boolean; status?: number; requestId?: string; headers?: Headers } = {},
  ) {
    super(error.message);
    this.retry = facts.retry ?? false;
    this.status = facts.status;
    this.requestId = facts.requestId;
    this.headers = facts.headers;
  }
}

/** An error thrown by the caller's `onChunk` or `onResponseStart`: the caller's problem, never retried or taken for a network error. */
class CallbackFailure extends Error {
  constructor(cause: unknown) {
    super('A caller callback failed', { cause });
  }
}

const jsonSchemas = new WeakMap<object, Record<string, unknown>>();

/**
 * The JSON schema sent as `output_config.format`: the request's zod schema in its input form (a field with a
 * default is optional, so the model may leave it out and parsing fills it in), through the SDK's own
 * strict-schema transform. Structured output accepts optional properties up to a limit per request (24);
 * `test/llm/wire-schema.test.ts` keeps every engine schema below it.
 */
export function wireSchema(schema: z.ZodType<unknown>, schemaName: string): Record<string, unknown> {
  const known = jsonSchemas.get(schema);
  if (known) return known;
  try {
    const converted = transformJSONSchema(z.toJSONSchema(schema, { io: 'input', reused: 'ref' }));
    jsonSchemas.set(schema, converted);
    return converted;
  } catch (error: unknown) {
    throw new AppError('internal', `Schema "${schemaName}" cannot be expressed as a JSON schema.`, {
      cause: error,
    });
  }
}

function buildParams<T>(request: StructuredRequest<T>, promptCaching: boolean): MessageCreateParamsBase {
  const cache = promptCaching ? { cache_control: { type: 'ephemeral' as const } } : {};
  return {
    model: request.model,
    max_tokens: request.maxTokens,
    system: [{ type: 'text', text: request.instructions, ...cache }],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: delimitContext(request.context), ...cache },
          ...(request.attachments ?? []).map(attachmentBlock),
          { type: 'text', text: request.task },
        ],
      },
    ],
    output_config: {
      format: { type: 'json_schema', schema: wireSchema(request.schema, request.schemaName) },
    },
  };
}

async function streamOnce<T>(
  client: Anthropic,
  params: MessageCreateParamsBase,
  request: StructuredRequest<T>,
  deadline: number,
  apiKey: string,
  onStartUsage: (usage: Usage) => void,
): Promise<{ message: Message; requestId: string | undefined }> {
  const controller = new AbortController();
  let timedOut = false;
  let emittedText = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      controller.abort();
    },
    Math.max(0, deadline - Date.now()),
  );
  const forwardAbort = () => controller.abort();
  request.signal?.addEventListener('abort', forwardAbort, { once: true });
  try {
    if (request.signal?.aborted) throw new AppError('cancelled', 'The LLM call was cancelled.');
    const stream = client.messages.stream(params, {
      signal: controller.signal,
      // The SDK's own timeout only covers the wait for response headers; keep it within the call's deadline.
      timeout: Math.max(1, deadline - Date.now()),
      headers: { [PURPOSE_HEADER]: formatPurpose(request.purpose) },
    });
    for await (const event of stream) {
      if (event.type === 'message_start') {
        onStartUsage(event.message.usage);
        try {
          request.onResponseStart?.();
        } catch (error: unknown) {
          throw new CallbackFailure(error);
        }
      }
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
        emittedText = true;
        try {
          request.onChunk?.(event.delta.text);
        } catch (error: unknown) {
          throw new CallbackFailure(error);
        }
      }
    }
    const message = await stream.finalMessage();
    return { message, requestId: stream.request_id ?? undefined };
  } catch (error: unknown) {
    throw classify(error, {
      cancelled: request.signal?.aborted ?? false,
      timedOut,
      emittedText,
      apiKey,
    });
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener('abort', forwardAbort);
  }
}

interface ClassifyContext {
  cancelled: boolean;
  timedOut: boolean;
  emittedText: boolean;
  apiKey: string;
}

/** Translates anything an attempt threw into an `AttemptFailure`: the SDK boundary. */
function classify(error: unknown, ctx: ClassifyContext): AttemptFailure {
  if (error instanceof AppError) return new AttemptFailure(error);
  if (ctx.cancelled) return new AttemptFailure(new AppError('cancelled', 'The LLM call was cancelled.'));
  if (ctx.timedOut || error instanceof APIConnectionTimeoutError) {
    return new AttemptFailure(
      new AppError('upstream_timeout', 'The LLM call did not finish before its deadline.'),
    );
  }
  if (error instanceof APIConnectionError) {
    // A connection lost after text reached the caller is not replayed: the caller would see it twice.
    return new AttemptFailure(
      new AppError('upstream_unavailable', 'The LLM endpoint could not be reached.'),
      {
        retry: !ctx.emittedText,
      },
    );
  }
  if (error instanceof CallbackFailure) return new AttemptFailure(toAppError(error.cause));
  if (isTransportFailure(error)) {
    return new AttemptFailure(
      new AppError('upstream_unavailable', 'The connection to the LLM endpoint was lost.'),
      {
        retry: !ctx.emittedText,
      },
    );
  }
  if (!isApiError(error)) return new AttemptFailure(toAppError(error));

  const status = error.status;
  const requestId = error.requestID ?? undefined;
  const detail = redact(error.apiMessage ?? '', ctx.apiKey);
  const where = status === undefined ? 'mid-stream' : `HTTP ${status}`;
  const suffix = `(${where}, ${error.type ?? 'unknown'}${requestId ? `, request ${requestId}` : ''})${detail ? `: ${detail}` : ''}`;
  const details = { status, type: error.type, errorCode: error.errorCode, requestId };
  const shouldRetryHeader = error.headers?.get('x-should-retry');
  const make = (code: ErrorCode, message: string, retryable: boolean, retryAfterSeconds?: number) => {
    // A retryable error after text was already streamed to the caller is not replayed here: the caller
    // would see the same text twice. It is reported as retryable so a higher level can start over.
    const retry = retryable && shouldRetryHeader !== 'false' && !(status === undefined && ctx.emittedText);
    return new AttemptFailure(
      new AppError(code, `${message} ${suffix}`, {
        retryable,
        details,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      }),
      {
        retry,
        ...(status === undefined ? {} : { status, headers: error.headers }),
        ...(requestId === undefined ? {} : { requestId }),
      },
    );
  };

  const spendLimit =
    (error.errorCode !== null && SPEND_LIMIT_ERROR_CODES.has(error.errorCode)) ||
    error.type === 'billing_error';
  if (spendLimit || status === 402) {
    return make('llm_request_rejected', 'The LLM provider refused the request: spend limit reached.', false);
  }
  if (status === 429 || error.type === 'rate_limit_error') {
    const waitMs = error.headers && status !== undefined ? retryAfterHeaderMs(error.headers) : undefined;
    const seconds = waitMs === undefined ? undefined : Math.max(1, Math.ceil(waitMs / 1000));
    return make('rate_limited', 'The LLM provider rate-limited the request.', true, seconds);
  }
  if (status === 408 || status === 504 || error.type === 'timeout_error') {
    return make('upstream_timeout', 'The LLM provider timed out.', true);
  }
  if (status === 409 || (status !== undefined && status >= 500) || error.type === 'overloaded_error') {
    return make('upstream_unavailable', 'The LLM provider is unavailable or overloaded.', true);
  }
  if (status === undefined && (error.type === 'api_error' || error.type === null)) {
    return make('upstream_unavailable', 'The LLM stream failed.', true);
  }
  return make('llm_request_rejected', 'The LLM provider rejected the request.', false);
}

/**
 * fetch reports network failures, including a body cut off mid-stream ("terminated"), as a TypeError; the
 * SDK's stream helper wraps it in a plain `AnthropicError`, so the cause chain is searched.
 */
function isTransportFailure(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof TypeError) return true;
    if (isApiError(current)) return false;
    current = current.cause;
  }
  return false;
}

/** `instanceof` alone would type the SDK's generic error as `APIError<any, any, any>`. */
function isApiError(error: unknown): error is APIError<number | undefined, Headers | undefined> {
  return error instanceof APIError;
}

function redact(text: string, secret: string): string {
  return secret.length > 0 ? text.split(secret).join('[redacted]') : text;
}

function retryAfterHeaderMs(headers: Headers): number | undefined {
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers.get('retry-after');
  if (raw === null) return undefined;
  const seconds = Number.parseFloat(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function retryDelayMs(
  headers: Headers | undefined,
  attempt: number,
  backoff: { initialMs: number; maxMs: number },
): number {
  const asked = headers ? retryAfterHeaderMs(headers) : undefined;
  if (asked !== undefined) return asked;
  const delay = Math.min(backoff.initialMs * 2 ** (attempt - 1), backoff.maxMs);
  return delay * (1 - Math.random() * 0.25);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancelled = () => new AppError('cancelled', 'The LLM call was cancelled.');
    if (signal?.aborted) {
      reject(cancelled());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function parseOutput<T>(
  message: Message,
  schema: z.ZodType<T>,
  schemaName: string,
  requestId: string | undefined,
  calledAt: Date,
): T {
  const details = { schemaName, stopReason: message.stop_reason, requestId };
  // Every answer here was billed: the failure carries its usage so that it is still counted.
  const unusable = (why: string, extra: Record<string, unknown> = {}) => {
    const usage = toTokenUsage(message.usage);
    return new UnusableAnswerError(
      `The LLM output for "${schemaName}" ${why}.`,
      usage,
      costMicroUsd(message.model, usage, calledAt),
      message.model,
      { details: { ...details, ...extra } },
    );
  };
  if (message.stop_reason === 'max_tokens') throw unusable('was cut off at max_tokens');
  if (message.stop_reason === 'refusal') throw unusable('was a refusal');
  const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw unusable('is not valid JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw unusable('does not match its schema', { issues });
  }
  return result.data;
}

function toTokenUsage(usage: Message['usage']): TokenUsage {
  const split = usage.cache_creation;
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    cacheCreationInputTokens: usage.cache_creation_input_tokens ?? 0,
    cacheReadInputTokens: usage.cache_read_input_tokens ?? 0,
    ...(split
      ? {
          cacheCreation5mInputTokens: split.ephemeral_5m_input_tokens,
          cacheCreation1hInputTokens: split.ephemeral_1h_input_tokens,
        }
      : {}),
  };
}
