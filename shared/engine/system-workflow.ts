import { z } from 'zod';
import type { WorkflowOutcome } from './workflow';

/**
 * The rules of system mode, once, for every caller: a deterministic generator (no I/O, clock or randomness)
 * that yields steps and receives their results, as `workflowSteps` does for one story. Each story is refined
 * by the single-story workflow itself (`workflowSteps`, judge and rewrite included): the `stories` step asks
 * the caller to run it for each story, at most `concurrency` at a time (the durable orchestrator as
 * sub-orchestrations).
 */

export const systemPlanSchema = z.object({
  /** How many stories the backlog holds (2 or more). */
  stories: z.number().int().min(2),
  /** How many stories are refined at once. */
  concurrency: z.number().int().min(1),
});
export type SystemPlan = z.infer<typeof systemPlanSchema>;

export type SystemStep =
  | { kind: 'discovery' }
  | { kind: 'stories'; indexes: number[]; concurrency: number }
  | { kind: 'interconnection' }
  | { kind: 'consistency' };

export const storyOutcomeSchema = z.object({
  index: z.number().int().nonnegative(),
  outcome: z.enum(['completed', 'failed', 'cancelled']),
  error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }).optional(),
});
export type StoryOutcome = z.infer<typeof storyOutcomeSchema>;

export const systemPassOutcomeSchema = z.object({ outcome: z.enum(['applied', 'failed', 'cancelled']) });
export type SystemPassOutcome = z.infer<typeof systemPassOutcomeSchema>;

export type SystemStepResult =
  | ({ kind: 'discovery' } & SystemPassOutcome)
  | { kind: 'stories'; outcomes: StoryOutcome[] }
  | ({ kind: 'interconnection' } & SystemPassOutcome)
  | ({ kind: 'consistency' } & SystemPassOutcome);

type ResultOf<K extends SystemStepResult['kind']> = Extract<SystemStepResult, { kind: K }>;

function isResultOf<K extends SystemStepResult['kind']>(
  kind: K,
  result: SystemStepResult,
): result is ResultOf<K> {
  return result.kind === kind;
}

function* step<K extends SystemStep['kind']>(
  request: Extract<SystemStep, { kind: K }>,
): Generator<SystemStep, ResultOf<K>, SystemStepResult> {
  const result = yield request;
  if (!isResultOf(request.kind, result)) {
    throw new Error(`The ${request.kind} step was answered with a ${result.kind} result.`);
  }
  return result;
}

/**
 * The steps of a backlog: discovery of the shared context, every story refined, then the interconnection and
 * consistency passes over the stories that completed. A failed story or pass does not sink the others (the
 * result reports it); the run fails only when no story completed. Cancellation ends the run with what is done.
 */
export function* systemWorkflowSteps(
  plan: SystemPlan,
): Generator<SystemStep, WorkflowOutcome, SystemStepResult> {
  if ((yield* step({ kind: 'discovery' })).outcome === 'cancelled') return { outcome: 'cancelled' };
  const indexes = Array.from({ length: plan.stories }, (_, index) => index);
  const { outcomes } = yield* step({ kind: 'stories', indexes, concurrency: plan.concurrency });
  if (outcomes.some((story) => story.outcome === 'cancelled')) return { outcome: 'cancelled' };
  const completed = outcomes.filter((story) => story.outcome === 'completed');
  if (completed.length === 0) {
    const failed = outcomes.find((story) => story.error);
    return {
      outcome: 'failed',
      error: failed?.error ?? { code: 'internal', message: 'No story could be refined.', retryable: false },
    };
  }
  // Relationships and consistency need two stories to compare.
  if (completed.length < 2) return { outcome: 'completed' };
  if ((yield* step({ kind: 'interconnection' })).outcome === 'cancelled') return { outcome: 'cancelled' };
  if ((yield* step({ kind: 'consistency' })).outcome === 'cancelled') return { outcome: 'cancelled' };
  return { outcome: 'completed' };
}
