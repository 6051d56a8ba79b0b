import { describe, expect, it } from 'vitest';
import {
  workflowSteps,
  type StepResult,
  type WorkflowOutcome,
  type WorkflowPlan,
  type WorkflowStep,
} from './workflow';

/** Drives the generator with `answer`, returning the steps it asked for and its outcome. */
function drive(
  plan: WorkflowPlan,
  answer: (step: WorkflowStep) => StepResult,
): { steps: string[]; outcome: WorkflowOutcome } {
  const steps: string[] = [];
  const workflow = workflowSteps(plan);
  let next = workflow.next();
  while (!next.done) {
    const step = next.value;
    steps.push(
      step.kind === 'mockups'
        ? `mockups(${step.mockups.join(',')})`
        : step.kind === 'iterations'
          ? `iterations(${step.iterations.join(',')})@${step.base}`
          : step.kind === 'approval'
            ? `approval(${step.iteration})`
            : step.kind === 'review'
              ? `review(${step.round}, ${step.rewriteRoundsLeft} left)`
              : step.kind === 'rewrite'
                ? `rewrite(${step.round})`
                : step.kind === 'consolidation'
                  ? `consolidation(judge: ${step.judgeRewriteRounds} left)`
                  : step.kind,
    );
    next = workflow.next(answer(step));
  }
  return { steps, outcome: next.value };
}

const applied = (step: WorkflowStep): StepResult => {
  switch (step.kind) {
    case 'mockups':
      return {
        kind: 'mockups',
        outcomes: step.mockups.map((uploadId) => ({ uploadId, outcome: 'analyzed' })),
      };
    case 'iterations':
      return {
        kind: 'iterations',
        outcomes: step.iterations.map((iterationId) => ({ iterationId, outcome: 'applied' })),
      };
    case 'approval':
      return { kind: 'approval', decision: 'continue' };
    case 'merge':
      return { kind: 'merge' };
    case 'review':
      return { kind: 'review', outcome: 'applied', verdict: 'approve', overall: 4.5 };
    default:
      return { kind: step.kind, outcome: 'applied' };
  }
};

const parallel: WorkflowPlan = {
  strategy: 'parallel',
  iterations: ['user-roles', 'validation'],
  review: { rewriteRounds: 1 },
};

describe('workflowSteps', () => {
  it('runs the iterations in parallel, merges, consolidates and judges once when the judge approves', () => {
    expect(drive(parallel, applied)).toEqual({
      steps: [
        'iterations(user-roles,validation)@original',
        'merge',
        'consolidation(judge: 1 left)',
        'review(1, 1 left)',
      ],
      outcome: { outcome: 'completed' },
    });
  });

  it('takes one rewrite round when the judge says rewrite, then judges again with no rounds left', () => {
    const { steps, outcome } = drive(parallel, (step) =>
      step.kind === 'review'
        ? {
            kind: 'review',
            outcome: 'applied',
            verdict: step.rewriteRoundsLeft > 0 ? 'rewrite' : 'manual-review',
            overall: 2,
          }
        : applied(step),
    );
    expect(steps.slice(2)).toEqual([
      'consolidation(judge: 1 left)',
      'review(1, 1 left)',
      'rewrite(1)',
      'review(2, 0 left)',
    ]);
    expect(outcome).toEqual({ outcome: 'completed' });
  });

  it('never takes more rewrite rounds than the plan allows, whatever the judge says', () => {
    const { steps } = drive({ ...parallel, review: { rewriteRounds: 2 } }, (step) =>
      step.kind === 'review'
        ? { kind: 'review', outcome: 'applied', verdict: 'rewrite', overall: 1 }
        : applied(step),
    );
    expect(steps.filter((step) => step.startsWith('rewrite'))).toEqual(['rewrite(1)', 'rewrite(2)']);
    expect(steps.at(-1)).toBe('review(3, 0 left)');
  });

  it('ends with the first failed iteration in catalog order and runs no pass', () => {
    const error = { code: 'llm_request_rejected', message: 'no', retryable: false };
    const { steps, outcome } = drive(parallel, (step) =>
      step.kind === 'iterations'
        ? {
            kind: 'iterations',
            outcomes: [
              { iterationId: 'user-roles', outcome: 'applied' },
              { iterationId: 'validation', outcome: 'failed', error },
            ],
          }
        : applied(step),
    );
    expect(steps).toEqual(['iterations(user-roles,validation)@original']);
    expect(outcome).toEqual({ outcome: 'failed', error });
  });

  it('ends as cancelled when an iteration or a pass saw the cancel', () => {
    expect(
      drive(parallel, (step) =>
        step.kind === 'iterations'
          ? { kind: 'iterations', outcomes: [{ iterationId: 'user-roles', outcome: 'cancelled' }] }
          : applied(step),
      ).outcome,
    ).toEqual({ outcome: 'cancelled' });
    const duringReview = drive(parallel, (step) =>
      step.kind === 'review' ? { kind: 'review', outcome: 'cancelled' } : applied(step),
    );
    expect(duringReview.steps.at(-1)).toBe('review(1, 1 left)');
    expect(duringReview.outcome).toEqual({ outcome: 'cancelled' });
  });

  it('keeps going without a review when consolidation or the judge fails', () => {
    const { steps, outcome } = drive(parallel, (step) =>
      step.kind === 'consolidation' || step.kind === 'review'
        ? { kind: step.kind, outcome: 'failed' }
        : applied(step),
    );
    expect(steps.slice(-2)).toEqual(['consolidation(judge: 1 left)', 'review(1, 1 left)']);
    expect(outcome).toEqual({ outcome: 'completed' });
  });

  it('runs one iteration at a time with an approval after each, stops on stop, then consolidates and judges', () => {
    const { steps } = drive(
      {
        strategy: 'sequential',
        iterations: ['user-roles', 'validation', 'security'],
        review: { rewriteRounds: 0 },
      },
      (step) =>
        step.kind === 'approval'
          ? { kind: 'approval', decision: step.iteration === 'validation' ? 'stop' : 'skip' }
          : applied(step),
    );
    expect(steps).toEqual([
      'iterations(user-roles)@working',
      'approval(user-roles)',
      'iterations(validation)@working',
      'approval(validation)',
      'consolidation(judge: 0 left)',
      'review(1, 0 left)',
    ]);
  });

  it('runs the iterations alone for a plan without review (orchestrations started before passes existed)', () => {
    expect(drive({ strategy: 'parallel', iterations: ['security'] }, applied).steps).toEqual([
      'iterations(security)@original',
    ]);
  });

  it('reads every mockup at once before the iterations, in either strategy', () => {
    expect(drive({ ...parallel, mockups: ['upl_a', 'upl_b'] }, applied).steps.slice(0, 2)).toEqual([
      'mockups(upl_a,upl_b)',
      'iterations(user-roles,validation)@original',
    ]);
    const sequential = drive(
      { strategy: 'sequential', iterations: ['user-roles'], mockups: ['upl_a'] },
      applied,
    );
    expect(sequential.steps).toEqual([
      'mockups(upl_a)',
      'iterations(user-roles)@working',
      'approval(user-roles)',
    ]);
  });

  it('ends the run with a mockup that could not be read, before any iteration, and on a cancel while reading', () => {
    const error = { code: 'validation_failed', message: 'Mockup upl_b is gone.', retryable: false };
    const failed = drive({ ...parallel, mockups: ['upl_a', 'upl_b'] }, (step) =>
      step.kind === 'mockups'
        ? {
            kind: 'mockups',
            outcomes: [
              { uploadId: 'upl_a', outcome: 'analyzed' },
              { uploadId: 'upl_b', outcome: 'failed', error },
            ],
          }
        : applied(step),
    );
    expect(failed).toEqual({ steps: ['mockups(upl_a,upl_b)'], outcome: { outcome: 'failed', error } });
    const unexplained = drive({ ...parallel, mockups: ['upl_a'] }, () => ({
      kind: 'mockups',
      outcomes: [{ uploadId: 'upl_a', outcome: 'failed' }],
    }));
    expect(unexplained.outcome.error?.message).toBe('Mockup upl_a failed.');
    const cancelled = drive({ ...parallel, mockups: ['upl_a'] }, () => ({
      kind: 'mockups',
      outcomes: [{ uploadId: 'upl_a', outcome: 'cancelled' }],
    }));
    expect(cancelled.outcome).toEqual({ outcome: 'cancelled' });
  });

  it('refuses a result that does not answer the step it asked for', () => {
    const workflow = workflowSteps(parallel);
    workflow.next();
    expect(() => workflow.next({ kind: 'merge' })).toThrow(
      /iterations step was answered with a merge result/,
    );
  });

  it('runs a refinement turn as the refinement pass and the judge, with no iterations and no consolidation', () => {
    const turn: WorkflowPlan = {
      strategy: 'parallel',
      iterations: [],
      refinement: true,
      review: { rewriteRounds: 1 },
    };
    expect(drive(turn, applied)).toEqual({
      steps: ['refinement', 'review(1, 1 left)'],
      outcome: { outcome: 'completed' },
    });
    const error = { code: 'llm_output_invalid', message: 'Not JSON.', retryable: false };
    expect(
      drive(turn, (step) =>
        step.kind === 'refinement' ? { kind: 'refinement', outcome: 'failed', error } : applied(step),
      ),
    ).toEqual({ steps: ['refinement'], outcome: { outcome: 'failed', error } });
    expect(
      drive(turn, (step) =>
        step.kind === 'refinement' ? { kind: 'refinement', outcome: 'cancelled' } : applied(step),
      ).outcome,
    ).toEqual({ outcome: 'cancelled' });
  });
});
