import { describe, expect, it } from 'vitest';
import { SecuritySignals } from './security-signals';

describe('security signals', () => {
  it('reports a source once when it reaches the threshold within the window, again in a later window', () => {
    let now = 0;
    const signals = new SecuritySignals({ threshold: 3, windowMs: 1000, now: () => now });
    expect([1, 2, 3, 4, 5].map(() => signals.authFailure('203.0.113.9'))).toEqual([
      undefined,
      undefined,
      3,
      undefined,
      undefined,
    ]);
    expect(signals.authFailure('198.51.100.1')).toBeUndefined();
    now = 1000;
    expect([1, 2, 3].map(() => signals.authFailure('203.0.113.9'))).toEqual([undefined, undefined, 3]);
  });

  it('reports a rate-limited user once per code and window', () => {
    let now = 0;
    const signals = new SecuritySignals({ windowMs: 60_000, now: () => now });
    expect(signals.rateLimited('acme/alice', 'rate_limited')).toBe(true);
    expect(signals.rateLimited('acme/alice', 'rate_limited')).toBe(false);
    expect(signals.rateLimited('acme/alice', 'quota_exceeded')).toBe(true);
    now = 60_000;
    expect(signals.rateLimited('acme/alice', 'rate_limited')).toBe(true);
  });

  it('forgets the oldest entries beyond its bound', () => {
    const signals = new SecuritySignals({ threshold: 2, maxTracked: 2 });
    signals.authFailure('a');
    signals.authFailure('b');
    signals.authFailure('c');
    // `a` was forgotten, so its next failure starts a new count.
    expect(signals.authFailure('a')).toBeUndefined();
    expect(signals.authFailure('c')).toBe(2);
  });
});
