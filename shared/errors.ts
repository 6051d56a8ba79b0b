/**
 * The project's error vocabulary. Adapters translate SDK errors into `AppError` at the boundary; the HTTP
 * wrapper maps codes to statuses once; jobs record `{ code, message, retryable }`.
 */
export const errorCodes = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  job_finished: 409,
  /** The job has not completed (still running, failed or cancelled): it has no specification to give. */
  job_not_completed: 409,
  /** A conversation's previous turn is still running: its result is the base of the next one. */
  turn_in_progress: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  rate_limited: 429,
  quota_exceeded: 429,
  concurrency_limit: 429,
  budget_exceeded: 429,
  internal: 500,
  /** The LLM rejected the request itself (bad parameters, prompt too long): retrying cannot help. */
  llm_request_rejected: 502,
  /** The LLM answered, but not with output matching the schema. */
  llm_output_invalid: 502,
  upstream_unavailable: 503,
  upstream_timeout: 504,
  /** Work stopped because the caller cancelled it. */
  cancelled: 499,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface AppErrorOptions {
  retryable?: boolean;
  /** Seconds the client should wait before retrying (429/503). */
  retryAfterSeconds?: number;
  cause?: unknown;
  /** Extra machine-readable fields for problem+json. */
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.retryable = options.retryable ?? (code === 'upstream_unavailable' || code === 'upstream_timeout');
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
  }

  get status(): number {
    return errorCodes[this.code];
  }

  /** The form stored on a failed job and sent in `error` progress events. */
  toJSON(): { code: ErrorCode; message: string; retryable: boolean } {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** Normalises anything thrown into an `AppError`, keeping the original as `cause`, never its text for unknowns. */
export function toAppError(value: unknown): AppError {
  if (value instanceof AppError) return value;
  if (value instanceof Error && value.name === 'AbortError') {
    return new AppError('cancelled', 'The operation was cancelled.', { cause: value });
  }
  return new AppError('internal', 'An unexpected error occurred.', { cause: value });
}
