import { describe, expect, it } from 'vitest';
import { clampScores, overallScore, reviewDimensions, reviewVerdict, type ReviewScores } from './review';

function scores(value: number, overrides: Partial<ReviewScores> = {}): ReviewScores {
  return {
    ...(Object.fromEntries(reviewDimensions.map((dimension) => [dimension, value])) as ReviewScores),
    ...overrides,
  };
}

describe('the judge rubric', () => {
  it('approves at a mean of 4 with no dimension below 3', () => {
    expect(reviewVerdict(scores(4), 1)).toBe('approve');
    expect(reviewVerdict(scores(5, { testableSystem: 3 }), 0)).toBe('approve');
  });

  it('asks for a rewrite below the mean or with one weak dimension, while rewrite rounds remain', () => {
    expect(reviewVerdict(scores(4, { atomic: 3, minimal: 3, unambiguous: 3 }), 1)).toBe('rewrite');
    expect(reviewVerdict(scores(5, { testableOutcome: 2 }), 1)).toBe('rewrite');
  });

  it('hands over to a person when no rewrite round is left', () => {
    expect(reviewVerdict(scores(5, { testableOutcome: 2 }), 0)).toBe('manual-review');
  });

  it('averages to one decimal and keeps out-of-scale answers on the 0-5 integer scale', () => {
    expect(overallScore(scores(4, { wellFormed: 5 }))).toBe(4.1);
    const clamped = clampScores(scores(3, { atomic: 7, minimal: -2, unambiguous: 2.6 }));
    expect([clamped.atomic, clamped.minimal, clamped.unambiguous]).toEqual([5, 0, 3]);
  });
});
