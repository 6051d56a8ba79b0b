import { unifyNames, type Rename, type Vocabulary } from './backlog-names';
import { catalogIndex } from './catalog';
import type { IterationResult, PassResult } from './iteration-result';
import { mergeIterationResults } from './merge';
import type { Finding } from './patch';
import type { Review } from './review';
import type { WorkflowStore } from './step-executor';
import { normalizeText, renderMarkdown, type Story } from './story';
import type { WorkflowPlan } from './workflow';

/** What a finished run delivers: a job's `result` (plus usage) and the command line's JSON output. */
export interface WorkflowReport {
  story: Story;
  /** The specification as markdown, with its quality findings and review: the job's `result.story`. */
  markdown: string;
  /** In catalog order. */
  iterations: IterationResult[];
  /** Consolidation, judge and rewrite rounds, in the order they ran. */
  passes: PassResult[];
  /** The last judge round's review; absent when no judge ran (or it failed). */
  review?: Review;
  /** Defects of the submitted story, each reported once. */
  findings: Finding[];
  /** System mode: the backlog's canonical names written into the specification. */
  renames: Rename[];
}

/**
 * The story's defects: the validation iteration's findings without repeats, plus the split the consolidation
 * proposed for a compound story when validation did not already report it as `not_atomic`.
 */
export function collectFindings(
  iterations: readonly IterationResult[],
  passes: readonly PassResult[],
): Finding[] {
  const seen = new Set<string>();
  const findings: Finding[] = [];
  for (const finding of iterations.flatMap((result) => result.findings)) {
    const key = `${finding.kind}\n${normalizeText(finding.detail)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push(finding);
  }
  const split = passes.find((pass) => pass.id === 'consolidation')?.split ?? [];
  if (split.length > 0 && !findings.some((finding) => finding.kind === 'not_atomic')) {
    findings.push({
      kind: 'not_atomic',
      detail: 'The story asks for more than one feature.',
      suggestion: '',
      split,
    });
  }
  return findings;
}

/**
 * Assembles the report of a run from its store. A parallel run stopped before its merge (cancelled, failed, or
 * planned without passes) is merged here, so finished iterations are never lost. A story of a backlog is
 * written with the backlog's canonical names (`vocabulary`), whatever names its steps used.
 */
export async function workflowReport(
  store: WorkflowStore,
  strategy: WorkflowPlan['strategy'],
  vocabulary: Vocabulary = [],
): Promise<WorkflowReport> {
  let iterations = await store.iterationResults();
  let story = await store.working();
  if (!story && strategy === 'parallel') {
    const merged = mergeIterationResults(store.original(), iterations);
    story = merged.story;
    iterations = merged.results;
  }
  const named = unifyNames(story ?? store.original(), vocabulary);
  story = named.story;
  iterations = [...iterations].sort((a, b) => catalogIndex(a.id) - catalogIndex(b.id));
  const passes = await store.passResults();
  const review = passes.filter((pass) => pass.review !== undefined).at(-1)?.review;
  const findings = collectFindings(iterations, passes);
  return {
    story,
    markdown: renderMarkdown(story, { findings, ...(review ? { review } : {}) }),
    iterations,
    passes,
    ...(review ? { review } : {}),
    findings,
    renames: named.renames,
  };
}
