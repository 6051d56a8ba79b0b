import { describe, expect, it } from 'vitest';
import { ChatStatusNarrator } from './chat-status';

const usage = {
  inputTokens: 1,
  outputTokens: 1,
  cacheReadInputTokens: 0,
  cacheCreationInputTokens: 0,
  costUsd: 0,
};

describe('chat status lines', () => {
  it('narrates a run: start, each iteration, the whole-story review, and the cost when done', () => {
    const narrator = new ChatStatusNarrator();
    const events = [
      { event: 'start', data: { jobId: 'j', iterations: ['validation', 'security'], total: 2 } },
      { event: 'iteration:start', data: { jobId: 'j', iteration: 'validation', index: 0, total: 2 } },
      { event: 'iteration:progress', data: { jobId: 'j', iteration: 'validation', chunk: 'text' } },
      { event: 'iteration:start', data: { jobId: 'j', iteration: 'security', index: 1, total: 2 } },
      { event: 'iteration:complete', data: { jobId: 'j', iteration: 'security', usage, durationMs: 5 } },
      { event: 'iteration:complete', data: { jobId: 'j', iteration: 'validation', usage, durationMs: 5 } },
      { event: 'review:start', data: { jobId: 'j', round: 1 } },
      { event: 'review:complete', data: { jobId: 'j', round: 1, verdict: 'rewrite', overall: 3 } },
      { event: 'review:start', data: { jobId: 'j', round: 2 } },
      { event: 'complete', data: { jobId: 'j', story: 's', usage, costUsd: 0.0412 } },
    ];
    expect(events.map((event) => narrator.describe(event))).toEqual([
      { description: 'Starting 2 iterations', done: false },
      { description: 'Iteration 1 of 2: validation', done: false },
      undefined,
      { description: 'Iteration 2 of 2: security', done: false },
      { description: 'Finished security (1 of 2 done)', done: false },
      { description: 'Finished validation (2 of 2 done)', done: false },
      { description: 'Reviewing the whole story', done: false },
      { description: 'Review: rewrite', done: false },
      { description: 'Reviewing the whole story (round 2)', done: false },
      { description: 'Done: $0.04', done: true },
    ]);
  });

  it('ends the shimmer on cancellation, failure (code only) and a wait for approval', () => {
    const narrator = new ChatStatusNarrator();
    expect(narrator.describe({ event: 'cancelled', data: { jobId: 'j' } })).toEqual({
      description: 'Cancelled',
      done: true,
    });
    expect(
      narrator.describe({
        event: 'error',
        data: { jobId: 'j', code: 'budget_exceeded', message: 'internal detail', retryable: false },
      }),
    ).toEqual({ description: 'Failed: budget_exceeded', done: true });
    expect(
      narrator.describe({
        event: 'awaiting_approval',
        data: { jobId: 'j', iteration: 'security', story: 's' },
      }),
    ).toEqual({
      description: 'Waiting for approval of security',
      done: true,
    });
  });

  it('says nothing for events it does not know or cannot read, instead of failing', () => {
    const narrator = new ChatStatusNarrator();
    expect(narrator.describe({ event: 'consolidation:start', data: { jobId: 'j' } })).toBeUndefined();
    expect(narrator.describe({ event: 'iteration:start', data: { jobId: 'j' } })).toBeUndefined();
    expect(narrator.describe({ event: 'start', data: null })).toBeUndefined();
  });
});
