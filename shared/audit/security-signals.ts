/**
 * Turns streams of refusals into a few audit records: repeated authentication failures from one source
 * address (one record when a source reaches `threshold` failures within `windowMs`, then at most one per
 * window), and rate-limit refusals (one record per user and code per window). Counted per instance: several
 * instances each report what they see, which is what an investigation needs (who, from where, how often).
 */
export interface SecuritySignalsOptions {
  threshold?: number;
  windowMs?: number;
  /** Sources and users tracked at once; the oldest are forgotten first, so memory stays bounded. */
  maxTracked?: number;
  now?: () => number;
}

interface Window {
  startedAt: number;
  count: number;
  reported: boolean;
}

export class SecuritySignals {
  private readonly failures = new Map<string, Window>();
  private readonly limited = new Map<string, number>();
  private readonly threshold: number;
  private readonly windowMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;

  constructor(options: SecuritySignalsOptions = {}) {
    this.threshold = options.threshold ?? 10;
    this.windowMs = options.windowMs ?? 5 * 60_000;
    this.maxTracked = options.maxTracked ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Counts a refused credential from `source`; returns the count when this failure should be recorded. */
  authFailure(source: string): number | undefined {
    const now = this.now();
    let window = this.failures.get(source);
    if (!window || now - window.startedAt >= this.windowMs) {
      window = { startedAt: now, count: 0, reported: false };
      this.remember(this.failures, source, window);
    }
    window.count++;
    if (window.reported || window.count < this.threshold) return undefined;
    window.reported = true;
    return window.count;
  }

  /** True when this refusal of `user` with `code` is the first in its window, so worth a record. */
  rateLimited(user: string, code: string): boolean {
    const key = `${user}\n${code}`;
    const now = this.now();
    const last = this.limited.get(key);
    if (last !== undefined && now - last < this.windowMs) return false;
    this.remember(this.limited, key, now);
    return true;
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > this.maxTracked) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
  }
}
