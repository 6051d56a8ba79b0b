import type { HttpResponseInit } from '@azure/functions';
import { wwwAuthenticateFor } from '../auth/failures';
import { AppError, type ErrorCode } from '../errors';

/** RFC 9457 problem details, with the contract's stable machine-readable `code`. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance: string;
  correlationId: string;
  [extension: string]: unknown;
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The problem+json response for an `AppError`; unknown errors must be normalised with `toAppError` first. */
export function problemResponse(error: AppError, instance: string, correlationId: string): HttpResponseInit {
  const status = error.status;
  const body: ProblemDetails = {
    type: `https://user-story-agent.dev/problems/${error.code.replace(/_/g, '-')}`,
    title: titles[status] ?? 'Error',
    status,
    detail: error.message,
    code: error.code,
    instance,
    correlationId,
    ...(error.details ?? {}),
  };
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  if (status === 401) headers['www-authenticate'] = wwwAuthenticateFor(error);
  if (error.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterSeconds)));
  return { status, headers, body: JSON.stringify(body) };
}
