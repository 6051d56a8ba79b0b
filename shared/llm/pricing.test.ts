import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { TokenUsage } from './port';
import { costMicroUsd, loadPricingTable, microUsdToUsd, pricingRowAt } from './pricing';

const now = new Date('2026-11-22T12:00:00Z');

function usage(partial: Partial<TokenUsage>): TokenUsage {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cacheCreationInputTokens: 0,
    cacheReadInputTokens: 0,
    ...partial,
  };
}

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error: unknown) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('costMicroUsd', () => {
  it('prices each usage field of claude-sonnet-5-5 at its own rate', () => {
    const sonnet = (partial: Partial<TokenUsage>) => costMicroUsd('claude-sonnet-5-5', usage(partial), now);
    expect(sonnet({ inputTokens: 1_000 })).toBe(2_000);
    expect(sonnet({ outputTokens: 1_000 })).toBe(10_000);
    expect(sonnet({ cacheCreationInputTokens: 1_000 })).toBe(2_500);
    expect(sonnet({ cacheCreationInputTokens: 1_000, cacheCreation1hInputTokens: 1_000 })).toBe(4_000);
    expect(sonnet({ cacheReadInputTokens: 1_000 })).toBe(100);
    expect(
      sonnet({
        inputTokens: 1_000,
        outputTokens: 1_000,
        cacheCreationInputTokens: 3_000,
        cacheCreation5mInputTokens: 1_000,
        cacheCreation1hInputTokens: 2_000,
        cacheReadInputTokens: 1_000,
      }),
    ).toBe(2_000 + 10_000 + 2_500 + 8_000 + 100);
  });

  it('treats cache creation without a split as 5-minute writes', () => {
    expect(costMicroUsd('claude-opus-5-5', usage({ cacheCreationInputTokens: 1_000_000 }), now)).toBe(
      5_000_000,
    );
  });

  it('derives the 5-minute part from the total when only the 1-hour part is reported', () => {
    const cost = costMicroUsd(
      'claude-haiku-4-5',
      usage({ cacheCreationInputTokens: 3_000, cacheCreation1hInputTokens: 1_000 }),
      now,
    );
    expect(cost).toBe(2_000 * 1.25 + 1_000 * 2);
  });

  it('rounds the exact per-call total once to the nearest micro-dollar, halves up', () => {
    const haiku = (partial: Partial<TokenUsage>) => costMicroUsd('claude-haiku-5-5', usage(partial), now);
    expect(haiku({ inputTokens: 4 })).toBe(0); // 0.4 µUSD
    expect(haiku({ inputTokens: 5 })).toBe(1); // 0.5 µUSD
    expect(haiku({ cacheReadInputTokens: 49 })).toBe(0); // 0.49 µUSD
    expect(haiku({ cacheReadInputTokens: 50 })).toBe(1); // 0.50 µUSD
    // 0.4 + 0.4 = 0.8: fractions are summed before rounding, not rounded away field by field.
    expect(haiku({ inputTokens: 4, cacheReadInputTokens: 40 })).toBe(1);
  });

  it('switches Sonnet 5.5 cache reads from 0.20 to 0.10 exactly at 2026-10-07T00:00Z', () => {
    const reads = usage({ cacheReadInputTokens: 1_000_000 });
    expect(costMicroUsd('claude-sonnet-5-5', reads, new Date('2026-10-06T23:59:59.999Z'))).toBe(200_000);
    expect(costMicroUsd('claude-sonnet-5-5', reads, new Date('2026-10-07T00:00:00.000Z'))).toBe(100_000);
  });

  it('refuses to price a model before its first pricing row', () => {
    const error = thrownBy(() =>
      costMicroUsd('claude-sonnet-5-5', usage({ inputTokens: 1 }), new Date('2026-09-27T23:59:59Z')),
    );
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'internal' });
  });

  it('bills every token of a Haiku 5.5 call at the long-prompt rates once the prompt exceeds 100k tokens', () => {
    const haiku = (partial: Partial<TokenUsage>) => costMicroUsd('claude-haiku-5-5', usage(partial), now);
    expect(haiku({ inputTokens: 100_000 })).toBe(10_000);
    expect(haiku({ inputTokens: 100_001 })).toBe(50_001); // 50,000.5 rounded up
    const atThreshold = { inputTokens: 60_000, cacheReadInputTokens: 30_000, outputTokens: 1_000 };
    expect(haiku({ ...atThreshold, cacheCreationInputTokens: 10_000 })).toBe(6_000 + 300 + 1_250 + 500);
    // One more cache-write token tips the prompt over: input, reads, writes and output all move to tier rates.
    expect(haiku({ ...atThreshold, cacheCreationInputTokens: 10_001 })).toBe(40_251); // 30,000 + 1,500 + 6,250.625 + 2,500
  });

  it('does not count output tokens towards the long-prompt threshold', () => {
    expect(costMicroUsd('claude-haiku-5-5', usage({ inputTokens: 100_000, outputTokens: 50_000 }), now)).toBe(
      10_000 + 25_000,
    );
  });

  it('throws for an unknown or retired model instead of billing $0', () => {
    for (const model of ['claude-sonnet-4-20250514', 'gpt-4o', '']) {
      const error = thrownBy(() => costMicroUsd(model, usage({ inputTokens: 1_000 }), now));
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'internal' });
    }
  });

  it('prices a dated snapshot id with its undated row', () => {
    expect(costMicroUsd('claude-sonnet-5-5-20260928', usage({ inputTokens: 1_000 }), now)).toBe(2_000);
  });

  it('regression: Haiku 5.5 is not priced at $0', () => {
    expect(
      costMicroUsd('claude-haiku-5-5', usage({ inputTokens: 100_000, outputTokens: 100_000 }), now),
    ).toBe(60_000);
  });

  it('regression: Sonnet 5.5 cache reads after the cut are not billed at the old 2x rate', () => {
    expect(costMicroUsd('claude-sonnet-5-5', usage({ cacheReadInputTokens: 1_000_000 }), now)).toBe(100_000);
  });

  it('has a row for every model in EXTERNAL-FACTS at its published input and output rate', () => {
    const expected: Record<string, [number, number]> = {
      'claude-sonnet-5-5': [2, 10],
      'claude-haiku-5-5': [0.1, 0.5],
      'claude-opus-5-5': [4, 20],
      'claude-sonnet-5': [2, 10],
      'claude-opus-5': [5, 25],
      'claude-opus-4-5': [5, 25],
      'claude-opus-4-6': [5, 25],
      'claude-opus-4-7': [5, 25],
      'claude-opus-4-8': [5, 25],
      'claude-sonnet-4-5': [3, 15],
      'claude-haiku-4-5': [1, 5],
    };
    for (const [model, [input, output]] of Object.entries(expected)) {
      // 100k tokens: at Haiku 5.5's threshold, not over it.
      expect(costMicroUsd(model, usage({ inputTokens: 100_000 }), now), model).toBe(input * 100_000);
      expect(costMicroUsd(model, usage({ outputTokens: 100_000 }), now), model).toBe(output * 100_000);
    }
  });

  it('prices the offline engine at exactly zero, as an explicit row', () => {
    expect(pricingRowAt('user-story-agent-offline-1', now).model).toBe('user-story-agent-offline-1');
    expect(
      costMicroUsd(
        'user-story-agent-offline-1',
        usage({ inputTokens: 5_000, outputTokens: 5_000, cacheReadInputTokens: 9_000 }),
        now,
      ),
    ).toBe(0);
  });

  it('rejects usage that is negative, fractional or has a split that does not add up', () => {
    const bad: TokenUsage[] = [
      usage({ inputTokens: -1 }),
      usage({ outputTokens: 1.5 }),
      usage({
        cacheCreationInputTokens: 100,
        cacheCreation5mInputTokens: 60,
        cacheCreation1hInputTokens: 60,
      }),
      usage({ cacheCreationInputTokens: 100, cacheCreation1hInputTokens: 200 }),
    ];
    for (const value of bad) {
      expect(thrownBy(() => costMicroUsd('claude-sonnet-5-5', value, now))).toMatchObject({
        code: 'internal',
      });
    }
  });
});

describe('loadPricingTable', () => {
  const rates = { input: '1', output: '1', cacheWrite5m: '1', cacheWrite1h: '1', cacheRead: '1' };

  it('rejects a malformed rate and a duplicate row', () => {
    expect(
      thrownBy(() => loadPricingTable([{ model: 'm', rates: { ...rates, input: '1,5' } }])),
    ).toMatchObject({
      code: 'internal',
    });
    expect(
      thrownBy(() =>
        loadPricingTable([
          { model: 'm', effectiveFrom: '2026-01-01', rates },
          { model: 'm', effectiveFrom: '2026-01-01', rates },
        ]),
      ),
    ).toMatchObject({ code: 'internal' });
  });

  it('parses six-decimal rates exactly', () => {
    const table = loadPricingTable([{ model: 'm', rates: { ...rates, input: '0.000001' } }]);
    expect(costMicroUsd('m', usage({ inputTokens: 1_500_000 }), now, table)).toBe(2); // 1.5 µUSD, half up
  });
});

describe('microUsdToUsd', () => {
  it('converts micro-dollars to dollars', () => {
    expect(microUsdToUsd(1_234_567)).toBe(1.234567);
    expect(microUsdToUsd(0)).toBe(0);
  });
});
