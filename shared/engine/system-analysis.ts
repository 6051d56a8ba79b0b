import { z } from 'zod';
import { llmCallSchema, usageSchema } from './iteration-result';

/**
 * What system mode learns about a backlog as a whole: the shared context (pass 0), the relationships between
 * its stories (pass 2) and the consistency findings across them (pass 3). Stories are named `S1`, `S2`, ...
 * in backlog order; items keep the ids the engine gave them in their story.
 */

/** `S1` for the first story of a backlog. */
export function backlogStoryId(index: number): string {
  return `S${index + 1}`;
}
export const backlogStoryIdSchema = z.string().regex(/^S\d{1,3}$/, 'a backlog story id such as S1');

const termSchema = z.object({
  name: z.string().describe('The canonical name, used the same way in every story.'),
  storyIds: z.array(backlogStoryIdSchema).describe('The stories that mention it.'),
});

export const systemContextSchema = z.object({
  actors: z.array(termSchema).describe('Who acts in the backlog (the stories’ roles).'),
  entities: z
    .array(termSchema)
    .describe('The things the stories act on (order, account, ...), with the stories that touch each.'),
  screens: z.array(termSchema).describe('Screens, pages, forms and dialogs the stories name.'),
  vocabulary: z
    .array(
      z.object({
        canonical: z.string().describe('The name every story should use.'),
        variants: z.array(z.string()).describe('Other spellings or synonyms found in the stories.'),
      }),
    )
    .describe('Terms written more than one way across the backlog, each with its canonical name.'),
});
export type SystemContext = z.infer<typeof systemContextSchema>;

export const relationshipKinds = ['depends-on', 'shares-entity', 'duplicates', 'conflicts'] as const;

export const relationshipSchema = z.object({
  from: backlogStoryIdSchema,
  to: backlogStoryIdSchema.describe('depends-on: the story `from` needs first.'),
  kind: z.enum(relationshipKinds),
  confidence: z.number().min(0).max(1).describe('0 (a guess) to 1 (certain).'),
  reason: z.string().describe('Why, quoting the words concerned.'),
});
export type Relationship = z.infer<typeof relationshipSchema>;

export const consistencyFindingKinds = [
  'contradiction',
  'duplicate-criteria',
  'vocabulary-drift',
  'merge-stories',
  'split-story',
] as const;

export const consistencyFindingSchema = z.object({
  kind: z.enum(consistencyFindingKinds),
  detail: z.string().describe('The problem, quoting the words concerned.'),
  suggestion: z.string().describe('What to change.'),
  storyIds: z.array(backlogStoryIdSchema),
  items: z
    .array(z.object({ storyId: backlogStoryIdSchema, itemId: z.string() }))
    .describe('The items concerned, each in its story; [] when the finding is about whole stories.'),
});
export type ConsistencyFinding = z.infer<typeof consistencyFindingSchema>;

export const systemPassIds = ['discovery', 'interconnection', 'consistency'] as const;
export const systemPassIdSchema = z.enum(systemPassIds);
export type SystemPassId = z.infer<typeof systemPassIdSchema>;

/** One system pass's outcome: what it found, and the calls it made (usage is metered per call). */
export const systemPassResultSchema = z.object({
  id: systemPassIdSchema,
  status: z.enum(['applied', 'failed']),
  summary: z.string(),
  context: systemContextSchema.optional(),
  relationships: z.array(relationshipSchema).optional(),
  findings: z.array(consistencyFindingSchema).optional(),
  usage: usageSchema,
  durationMs: z.number().int().nonnegative(),
  model: z.string(),
  calls: z.array(llmCallSchema),
  error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }).optional(),
});
export type SystemPassResult = z.infer<typeof systemPassResultSchema>;

/** The stories a system pass reads, each under its backlog id. */
export interface BacklogEntry<S> {
  id: string;
  story: S;
}
