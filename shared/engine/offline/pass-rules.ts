import type { Patch } from '../patch';
import {
  reviewDimensions,
  type ConsolidationOutput,
  type JudgeOutput,
  type ReviewIssue,
  type ReviewScores,
  type RewriteOutput,
} from '../review';
import { normalizeText, type Story, type StoryItem } from '../story';

/*
 * First cut of the offline engine's workflow passes (consolidation, whole-story judge, rewrite), so the engine
 * can run every pass offline. Deliberately simple; the offline engine's own rules refine them.
 */

function plainPatch(op: Patch['op'], section: Patch['section'], target: string, text: string): Patch {
  return { op, section, target, text, topic: '', given: '', when: '', then: '' };
}

/** Removes criteria whose normalised text repeats an earlier one in the other criteria section. */
export function offlineConsolidation(story: Story): ConsolidationOutput {
  const seen = new Set(story.outcomeCriteria.map((item) => normalizeText(item.text)));
  const patches = story.systemCriteria
    .filter((item) => seen.has(normalizeText(item.text)))
    .map((item) => plainPatch('remove', 'systemCriteria', item.id, ''));
  return {
    summary: `Removed ${patches.length} duplicate criteria.`,
    patches,
    coverage: [],
    split: [],
  };
}

function share(items: readonly StoryItem[], test: (item: StoryItem) => boolean): number {
  if (items.length === 0) return 0;
  return items.filter(test).length / items.length;
}

/** Scores what can be checked from the structure alone; dimensions it cannot judge stay at 3. */
export function offlineReview(story: Story): JudgeOutput {
  const scores = Object.fromEntries(reviewDimensions.map((dimension) => [dimension, 3])) as ReviewScores;
  const issues: ReviewIssue[] = [];
  const statementParts = [story.statement.asA, story.statement.soThat].filter((part) => part !== '').length;
  scores.wellFormed = 1 + 2 * statementParts;
  scores.testableOutcome = Math.round(
    5 * share(story.outcomeCriteria, (item) => item.given !== undefined && item.then !== undefined),
  );
  scores.testableSystem = Math.round(5 * share(story.systemCriteria, (item) => /\d/.test(item.text)));
  for (const item of story.outcomeCriteria) {
    if (item.given === undefined) {
      issues.push({
        dimension: 'testableOutcome',
        detail: 'Not in Given/When/Then form.',
        itemIds: [item.id],
      });
    }
  }
  return { scores, issues, summary: 'Structural review by the offline engine.' };
}

/** The offline engine cannot reword freely: each issue becomes an open question for the product owner. */
export function offlineRewrite(story: Story, issues: readonly ReviewIssue[]): RewriteOutput {
  const existing = new Set(story.openQuestions.map((item) => normalizeText(item.text)));
  const patches = issues
    .map((issue) => `Reviewer (${issue.dimension}): ${issue.detail}`)
    .filter((text) => !existing.has(normalizeText(text)))
    .map((text) => plainPatch('add', 'openQuestions', '', text));
  return { summary: `Raised ${patches.length} review issue(s) as open questions.`, patches };
}
