import { catalogIndex } from './catalog';
import type { IterationResult } from './iteration-result';
import { applyChanges } from './patch';
import type { Story } from './story';

/** A merged story and the results as they were actually applied. */
export interface MergeOutcome {
  story: Story;
  /** The results with `changes` narrowed to what was applied and conflicts added to `rejected`. */
  results: IterationResult[];
}

/**
 * Applies one iteration's result to a story: the sequential (interactive) path, and the step the parallel
 * merge repeats. A result whose every change conflicted is reported as `skipped`.
 */
export function applyIterationResult(
  story: Story,
  result: IterationResult,
): { story: Story; result: IterationResult } {
  if (result.status !== 'applied') return { story, result };
  const outcome = applyChanges(story, result.id, result.changes);
  return {
    story: outcome.story,
    result: {
      ...result,
      status: outcome.applied.length > 0 ? 'applied' : 'skipped',
      changes: outcome.applied,
      rejected: [...result.rejected, ...outcome.conflicts],
    },
  };
}

/**
 * Merges results of iterations that all ran on `base`, in catalog order whatever order they finished in, so
 * the same results always give the same story (safe inside a deterministic orchestrator: no I/O, no clock).
 */
export function mergeIterationResults(base: Story, results: readonly IterationResult[]): MergeOutcome {
  const ordered = [...results].sort((a, b) => catalogIndex(a.id) - catalogIndex(b.id));
  let story = base;
  const merged: IterationResult[] = [];
  for (const result of ordered) {
    const step = applyIterationResult(story, result);
    story = step.story;
    merged.push(step.result);
  }
  return { story, results: merged };
}
