import { z } from 'zod';
import { errorCodes } from '../shared/errors';
import { exitCodes } from './cli-support';

/** Where the service is and who calls it: an API key (`x-api-key`) or a bearer token. */
export interface ServiceConnection {
  server: URL;
  credential: { apiKey: string } | { token: string };
}

const problemSchema = z.object({
  code: z.string().optional(),
  detail: z.string().optional(),
  title: z.string().optional(),
});

/** Statuses that mean the request as given cannot succeed: the same kind of mistake as a bad command line. */
const requestMistakes = new Set([400, 413, 415, 422]);

/** What the service answered instead of success: its status and problem+json `code`, and when to retry. */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(message);
  }

  /** 3 for a quota refusal (429), 2 for a request the service rejected as invalid, 1 otherwise. */
  get exitCode(): number {
    if (this.status === 429) return exitCodes.quota;
    return requestMistakes.has(this.status) ? exitCodes.usage : exitCodes.failure;
  }
}

/** The exit code for a job that ended in `error` with this code: a quota code (a 429 one) is exit 3. */
export function exitCodeForJobError(code: string): number {
  const status = Object.entries(errorCodes).find(([name]) => name === code)?.[1];
  return status === 429 ? exitCodes.quota : exitCodes.failure;
}

async function serviceError(response: Response): Promise<ServiceError> {
  const text = await response.text().catch(() => '');
  let problem: z.infer<typeof problemSchema> = {};
  try {
    problem = problemSchema.parse(JSON.parse(text));
  } catch {
    // Not problem+json (a proxy's page, say): the status is all there is.
  }
  const retryAfter = Number(response.headers.get('retry-after') ?? NaN);
  const code = problem.code ?? `http_${response.status}`;
  const detail = problem.detail ?? problem.title ?? (response.statusText || 'request failed');
  const wait = Number.isFinite(retryAfter) ? ` (retry after ${retryAfter} s)` : '';
  return new ServiceError(
    response.status,
    code,
    `${response.status} ${code}: ${detail}${wait}`,
    Number.isFinite(retryAfter) ? retryAfter : undefined,
  );
}

/** The job service's HTTP API as the command line uses it; every rule stays on the service's side. */
export class ServiceClient {
  constructor(
    private readonly connection: ServiceConnection,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  private url(path: string, query: Record<string, string | undefined> = {}): URL {
    const url = new URL(path.replace(/^\//, ''), this.connection.server.href.replace(/\/?$/, '/'));
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(name, value);
    return url;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const { credential } = this.connection;
    return {
      ...('apiKey' in credential
        ? { 'x-api-key': credential.apiKey }
        : { authorization: `Bearer ${credential.token}` }),
      ...extra,
    };
  }

  private async send(request: Request | URL, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(request, init);
    } catch (error: unknown) {
      if (init.signal?.aborted) throw error;
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      throw new ServiceError(
        0,
        'unreachable',
        `cannot reach ${this.connection.server.origin}${cause}`,
        undefined,
      );
    }
  }

  /** A JSON call; any answer but 2xx becomes a `ServiceError`. */
  async json(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: {
      query?: Record<string, string | undefined>;
      body?: unknown;
      headers?: Record<string, string>;
    } = {},
  ): Promise<unknown> {
    const hasBody = options.body !== undefined;
    const response = await this.send(this.url(path, options.query), {
      method,
      headers: this.headers({
        accept: 'application/json',
        ...(hasBody ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      }),
      ...(hasBody ? { body: JSON.stringify(options.body) } : {}),
    });
    if (!response.ok) throw await serviceError(response);
    return response.status === 204 ? undefined : ((await response.json()) as unknown);
  }

  /** Opens the job's event stream after `lastEventId`; the caller reads (and may abort) the body. */
  async stream(jobId: string, lastEventId: string | undefined, signal?: AbortSignal): Promise<Response> {
    const response = await this.send(this.url(`/api/v1/jobs/${encodeURIComponent(jobId)}/stream`), {
      headers: this.headers({
        accept: 'text/event-stream',
        ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
      }),
      ...(signal ? { signal } : {}),
    });
    if (!response.ok) throw await serviceError(response);
    return response;
  }
}
