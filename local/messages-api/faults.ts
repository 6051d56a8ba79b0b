import { z } from 'zod';

/**
 * Faults the local Messages API server injects on demand, one per request: from the `x-fake-fault` header
 * (every request carrying it, retries included) or from the queue (`POST /_admin/faults` or
 * `injectFaults`, each entry consumed by exactly one request, in order). The header wins over the queue.
 */
export const faultSchema = z.discriminatedUnion('kind', [
  /** 429 `rate_limit_error` with `retry-after` (seconds) and, when given, `retry-after-ms`. */
  z.object({
    kind: z.literal('rate_limit'),
    retryAfterSeconds: z.number().nonnegative().default(1),
    retryAfterMs: z.number().nonnegative().optional(),
  }),
  /** 429 whose body carries `details.error_code: enforced_spend_limit_reached`: waiting will not help. */
  z.object({ kind: z.literal('spend_limit') }),
  /** 529 `overloaded_error`. */
  z.object({ kind: z.literal('overloaded') }),
  /** 500 `api_error`. */
  z.object({ kind: z.literal('server_error') }),
  /** 400 `invalid_request_error`. */
  z.object({ kind: z.literal('bad_request') }),
  /** 200 and a stream that breaks with an `error` event after `afterChunks` text deltas. */
  z.object({
    kind: z.literal('mid_stream'),
    afterChunks: z.number().int().nonnegative().default(1),
    errorType: z.enum(['overloaded_error', 'api_error']).default('overloaded_error'),
  }),
  /** 200, then the connection is cut (no error event) after `afterChunks` text deltas. */
  z.object({ kind: z.literal('drop_connection'), afterChunks: z.number().int().nonnegative().default(1) }),
  /** The response starts `delayMs` later than the latency model says. */
  z.object({ kind: z.literal('slow'), delayMs: z.number().int().nonnegative() }),
  /** 401 whose message repeats the credential it received, like a careless proxy: clients must not leak it. */
  z.object({ kind: z.literal('echo_credentials') }),
]);

export type Fault = z.infer<typeof faultSchema>;
export type FaultInput = z.input<typeof faultSchema>;

export const FAULT_HEADER = 'x-fake-fault';

/**
 * Parses `kind; name=value; ...` (e.g. `rate_limit; retryAfterMs=50`, `mid_stream; afterChunks=2`).
 * Returns a readable error instead of throwing, so the server can answer 400.
 */
export function parseFaultHeader(value: string): { fault: Fault } | { error: string } {
  const [kind = '', ...pairs] = value.split(';').map((part) => part.trim());
  const candidate: Record<string, unknown> = { kind };
  for (const pair of pairs) {
    const [name, raw] = pair.split('=').map((part) => part.trim());
    if (!name || raw === undefined) return { error: `malformed ${FAULT_HEADER} parameter "${pair}"` };
    const numeric = Number(raw);
    candidate[name] = raw !== '' && Number.isFinite(numeric) ? numeric : raw;
  }
  const parsed = faultSchema.safeParse(candidate);
  return parsed.success
    ? { fault: parsed.data }
    : { error: `invalid ${FAULT_HEADER}: ${z.prettifyError(parsed.error)}` };
}
