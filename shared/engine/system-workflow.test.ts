import { describe, expect, it } from 'vitest';
import { splitStories } from './story-split';
import {
  systemWorkflowSteps,
  type StoryOutcome,
  type SystemStep,
  type SystemStepResult,
} from './system-workflow';

/** Drives the system workflow with scripted answers; returns the steps it asked for and its outcome. */
function drive(
  stories: readonly StoryOutcome['outcome'][],
  passes: Partial<Record<string, 'applied' | 'failed' | 'cancelled'>> = {},
) {
  const workflow = systemWorkflowSteps({ stories: stories.length, concurrency: 2 });
  const asked: SystemStep[] = [];
  let next = workflow.next();
  while (!next.done) {
    const step = next.value;
    asked.push(step);
    const answer: SystemStepResult =
      step.kind === 'stories'
        ? {
            kind: 'stories',
            outcomes: stories.map((outcome, index) => ({
              index,
              outcome,
              ...(outcome === 'failed'
                ? { error: { code: 'upstream_unavailable', message: 'down', retryable: true } }
                : {}),
            })),
          }
        : { kind: step.kind, outcome: passes[step.kind] ?? 'applied' };
    next = workflow.next(answer);
  }
  return { kinds: asked.map((step) => step.kind), asked, outcome: next.value };
}

describe('system workflow', () => {
  it('discovers, refines every story with the concurrency bound, then links and checks the backlog', () => {
    const run = drive(['completed', 'completed', 'completed']);
    expect(run.kinds).toEqual(['discovery', 'stories', 'interconnection', 'consistency']);
    expect(run.asked[1]).toEqual({ kind: 'stories', indexes: [0, 1, 2], concurrency: 2 });
    expect(run.outcome).toEqual({ outcome: 'completed' });
  });

  it('does not let a failed story or pass sink the others', () => {
    const run = drive(['completed', 'failed', 'completed'], {
      discovery: 'failed',
      interconnection: 'failed',
    });
    expect(run.kinds).toEqual(['discovery', 'stories', 'interconnection', 'consistency']);
    expect(run.outcome).toEqual({ outcome: 'completed' });
  });

  it('fails only when no story completed, with the first story error', () => {
    const run = drive(['failed', 'failed']);
    expect(run.kinds).toEqual(['discovery', 'stories']);
    expect(run.outcome).toMatchObject({ outcome: 'failed', error: { code: 'upstream_unavailable' } });
  });

  it('skips the cross-story passes when fewer than two stories completed', () => {
    expect(drive(['completed', 'failed']).kinds).toEqual(['discovery', 'stories']);
  });

  it('ends cancelled, keeping what finished, when a story or a pass was cancelled', () => {
    expect(drive(['completed', 'cancelled']).outcome).toEqual({ outcome: 'cancelled' });
    expect(drive(['completed', 'completed'], { consistency: 'cancelled' }).outcome).toEqual({
      outcome: 'cancelled',
    });
    expect(drive(['completed', 'completed'], { discovery: 'cancelled' }).kinds).toEqual(['discovery']);
  });
});

describe('splitting one text into stories', () => {
  const one = 'As a shopper, I want to pay by card, so that I can check out.';
  const two = 'As a manager, I want to see orders, so that I can plan stock.';

  it('splits at separator lines, then headings, then each "As a" statement', () => {
    expect(splitStories(`${one}\n\n---\n\n${two}`)).toEqual([one, two]);
    expect(splitStories(`# Checkout\n${one}\n\n## Orders\n${two}`)).toEqual([
      `# Checkout\n${one}`,
      `## Orders\n${two}`,
    ]);
    expect(splitStories(`Backlog for the shop:\n1. ${one}\n2. ${two}`)).toEqual([
      `Backlog for the shop:\n1. ${one}`,
      `2. ${two}`,
    ]);
  });

  it('keeps a single story whole and is deterministic', () => {
    expect(splitStories(`${one}\nThe card must be a Visa card.`)).toEqual([
      `${one}\nThe card must be a Visa card.`,
    ]);
    expect(splitStories(`${one}\n---\n${two}`)).toEqual(splitStories(`${one}\n---\n${two}`));
  });
});
