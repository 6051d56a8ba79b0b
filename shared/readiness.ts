/**
 * Readiness: each dependency is probed with a deadline; the service is ready only when every check passes.
 * Probes never throw and never include secrets or raw SDK messages in their detail.
 */
export interface CheckResult {
  status: 'ok' | 'error';
  durationMs: number;
  detail?: string;
}

export interface ReadinessReport {
  status: 'ok' | 'unavailable';
  checks: Record<string, CheckResult>;
}

/** A dependency check; a string it resolves with becomes the check's detail (e.g. "disabled"). */
export type Probe = (signal: AbortSignal) => Promise<unknown>;

async function runProbe(probe: Probe, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const outcome = await Promise.race([probe(controller.signal), deadline]);
    return {
      status: 'ok',
      durationMs: Math.round(performance.now() - started),
      ...(typeof outcome === 'string' ? { detail: outcome } : {}),
    };
  } catch (error: unknown) {
    const detail = controller.signal.aborted ? `no answer within ${timeoutMs} ms` : describeFailure(error);
    return { status: 'error', durationMs: Math.round(performance.now() - started), detail };
  } finally {
    clearTimeout(timer);
  }
}

function describeFailure(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = 'code' in error ? String(error.code) : undefined;
    const status = 'statusCode' in error ? String(error.statusCode) : undefined;
    if (code || status) return `unreachable (${[status, code].filter(Boolean).join(' ')})`;
  }
  return 'unreachable';
}

/** Runs every probe in parallel. */
export async function checkReadiness(
  probes: Record<string, Probe>,
  timeoutMs: number,
): Promise<ReadinessReport> {
  const names = Object.keys(probes);
  const results = await Promise.all(
    names.map((name) => runProbe(probes[name] ?? (() => Promise.resolve()), timeoutMs)),
  );
  const checks: Record<string, CheckResult> = {};
  names.forEach((name, index) => {
    const result = results[index];
    if (result) checks[name] = result;
  });
  return { status: results.every((result) => result.status === 'ok') ? 'ok' : 'unavailable', checks };
}
