import { catalogIndex, type PatchAuthor } from './catalog';
import type { IterationResult } from './iteration-result';
import { applyChanges, type Change, type RejectedChange } from './patch';
import type { Story } from './story';

/** A merged story and the results as they were actually applied. */
export interface MergeOutcome {
  story: Story;
  /** The results with `changes` narrowed to what was applied and conflicts added to `rejected`. */
  results: IterationResult[];
}

/** What an iteration or a workflow pass proposes to change. */
interface ProposedChanges {
  id: PatchAuthor;
  status: 'applied' | 'skipped' | 'failed';
  changes: Change[];
  rejected: RejectedChange[];
}

/**
 * Applies one iteration's (or pass's) result to a story: the sequential path, each workflow pass, and the
 * step the parallel merge repeats. A result whose every change conflicted is reported as `skipped`.
 */
export function applyResult<R extends ProposedChanges>(story: Story, result: R): { story: Story; result: R } {
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
 * Merging results that were merged before gives the same story again.
 */
export function mergeIterationResults(base: Story, results: readonly IterationResult[]): MergeOutcome {
  const ordered = [...results].sort((a, b) => catalogIndex(a.id) - catalogIndex(b.id));
  let story = base;
  const merged: IterationResult[] = [];
  for (const result of ordered) {
    const step = applyResult(story, result);
    story = step.story;
    merged.push(step.result);
  }
  return { story, results: merged };
}
