import { z } from 'zod';
import { patchSchema } from './patch';

/**
 * The whole-story judge's dimensions, after the Quality User Story framework and INVEST: what a reviewer
 * checks before a specification goes into a backlog. Each is scored 0 (absent) to 5 (exemplary).
 */
export const reviewDimensions = [
  'wellFormed',
  'atomic',
  'minimal',
  'unambiguous',
  'testableOutcome',
  'testableSystem',
  'completeWithoutInvention',
  'consistentWithStory',
] as const;
export const reviewDimensionSchema = z.enum(reviewDimensions);
export type ReviewDimension = z.infer<typeof reviewDimensionSchema>;

/** What each dimension means: shared by the judge prompt and the offline judge, so both score the same thing. */
export const reviewDimensionMeaning: Record<ReviewDimension, string> = {
  wellFormed: 'The statement names a role, what they want and why ("As a ..., I want ..., so that ...").',
  atomic: 'The story asks for one feature; a compound story has its split proposed.',
  minimal: 'Statement and criteria carry no notes, references, estimates or history.',
  unambiguous:
    'No vague words ("fast", "intuitive", "manage", "etc."); every term has one meaning throughout.',
  testableOutcome:
    "Outcome criteria are Given/When/Then in the actor's voice, each with one observable result a tester can check.",
  testableSystem:
    'System criteria are measurable: a number, a state, a log entry or a status code, not an intention.',
  completeWithoutInvention:
    'Every feature and fact the story states (amounts, deadlines, names, limits) is covered; nothing the story does not ask for is added.',
  consistentWithStory:
    'No item contradicts the story or another item; a conflict is an open question, not a silent choice.',
};

const scoreSchema = z.number().int().describe('0 (absent) to 5 (exemplary).');

export const reviewScoresSchema = z.object(
  Object.fromEntries(reviewDimensions.map((dimension) => [dimension, scoreSchema])) as Record<
    ReviewDimension,
    typeof scoreSchema
  >,
);
export type ReviewScores = z.infer<typeof reviewScoresSchema>;

export const reviewIssueSchema = z.object({
  dimension: reviewDimensionSchema,
  detail: z.string().describe('The concrete problem, quoting the words concerned.'),
  itemIds: z
    .array(z.string())
    .describe('Ids of the items concerned; [] when the issue is about the statement.'),
});
export type ReviewIssue = z.infer<typeof reviewIssueSchema>;

/** What the judge call returns. The verdict is decided by code from the scores, so the model cannot overrule it. */
export const judgeOutputSchema = z.object({
  scores: reviewScoresSchema,
  issues: z.array(reviewIssueSchema),
  summary: z.string().describe('One or two sentences on the specification as a whole.'),
});
export type JudgeOutput = z.infer<typeof judgeOutputSchema>;

export const reviewVerdicts = ['approve', 'rewrite', 'manual-review'] as const;
export type ReviewVerdict = (typeof reviewVerdicts)[number];

/** The judge's review as a job stores it in `result.review` (see the API contract). */
export const reviewSchema = z.object({
  verdict: z.enum(reviewVerdicts),
  overall: z.number().min(0).max(5),
  scores: reviewScoresSchema,
  issues: z.array(reviewIssueSchema),
  summary: z.string(),
  /** Judge rounds taken: 1, or 2 after a rewrite. */
  rounds: z.number().int().positive(),
});
export type Review = z.infer<typeof reviewSchema>;

/** A specification is approved at this mean score, provided no dimension is below `approveFloor`. */
export const approveOverall = 4;
export const approveFloor = 3;

/** Scores clamped to 0-5 integers: a model answering 7 or 2.5 cannot move the verdict outside the scale. */
export function clampScores(scores: ReviewScores): ReviewScores {
  const clamped = { ...scores };
  for (const dimension of reviewDimensions) {
    clamped[dimension] = Math.min(5, Math.max(0, Math.round(scores[dimension])));
  }
  return clamped;
}

/** The mean score, one decimal. */
export function overallScore(scores: ReviewScores): number {
  const total = reviewDimensions.reduce((sum, dimension) => sum + scores[dimension], 0);
  return Math.round((total / reviewDimensions.length) * 10) / 10;
}

/**
 * Approve when the mean reaches `approveOverall` and no dimension is below `approveFloor`; otherwise rewrite
 * while rewrite rounds remain, and hand over to a person when none do.
 */
export function reviewVerdict(scores: ReviewScores, rewriteRoundsLeft: number): ReviewVerdict {
  const approved =
    overallScore(scores) >= approveOverall && reviewDimensions.every((d) => scores[d] >= approveFloor);
  if (approved) return 'approve';
  return rewriteRoundsLeft > 0 ? 'rewrite' : 'manual-review';
}

/**
 * Coverage names at most this many items per feature, the most direct ones: enough to show a feature is covered,
 * and every id more is output the judge has to wait for.
 */
export const coverageIdsPerFeature = 3;

/**
 * What the consolidation pass returns after the parallel iterations are merged: removals of duplicates in
 * meaning and of items that contradict the story (each contradiction also becomes an open question), and a
 * coverage map of the story's features.
 */
export const consolidationOutputSchema = z.object({
  summary: z.string().describe('One or two sentences on what was consolidated.'),
  patches: z
    .array(patchSchema)
    .describe(
      'remove duplicates and contradicting items (target = item id); add openQuestions for conflicts.',
    ),
  coverage: z
    .array(z.object({ feature: z.string(), itemIds: z.array(z.string()) }))
    .describe(
      `Each feature the story asks for, with the ids of the items that cover it most directly (at most ${coverageIdsPerFeature}; [] when none).`,
    ),
  split: z
    .array(z.string())
    .describe(
      'When the story bundles features: the proposed smaller stories, each a full sentence; [] otherwise.',
    ),
});
export type ConsolidationOutput = z.infer<typeof consolidationOutputSchema>;

/** What a rewrite round returns: edits that address the judge's issues, in any section. */
export const rewriteOutputSchema = z.object({
  summary: z.string().describe('One or two sentences on what was rewritten.'),
  patches: z.array(patchSchema),
});
export type RewriteOutput = z.infer<typeof rewriteOutputSchema>;
