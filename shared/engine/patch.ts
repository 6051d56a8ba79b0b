import { z } from 'zod';
import { authorRules, sectionNameSchema, type PatchAuthor, type SectionName } from './catalog';
import {
  criterionSteps,
  criterionText,
  itemId,
  normalizeText,
  type NoteItem,
  type Story,
  type StoryItem,
} from './story';

/**
 * One edit an iteration proposes, as the model writes it. Plain fields (no unions or nullables) so the JSON
 * schema passes structured-output validation. The fields an edit does not use are optional on the wire and
 * default to "": every field a model need not write is output it is not billed for and no one waits for.
 */
export const patchSchema = z.object({
  op: z.enum(['add', 'replace', 'remove']),
  section: sectionNameSchema,
  target: z.string().describe('Id of the item to replace or remove; omitted for add.').default(''),
  text: z.string().describe('The new item text; omitted for remove.').default(''),
  topic: z.string().describe('implementationNotes only: a short topic heading.').default(''),
  given: z
    .string()
    .describe('outcomeCriteria only: the starting situation ("the customer is signed in").')
    .default(''),
  when: z
    .string()
    .describe('outcomeCriteria only: the action or event ("they confirm the transfer").')
    .default(''),
  then: z
    .string()
    .describe('outcomeCriteria only: the observable result ("the balance shows ...").')
    .default(''),
});
export type Patch = z.infer<typeof patchSchema>;

/**
 * Story defects on the Quality User Story (QUS) criteria; the API, the quality set and the benchmark use exactly
 * these kinds.
 */
export const findingKinds = [
  'missing_role',
  'missing_benefit',
  'not_atomic',
  'vague',
  'not_full_sentence',
  'not_minimal',
  'instruction_like_text',
] as const;
export const findingKindSchema = z.enum(findingKinds);
export type FindingKind = z.infer<typeof findingKindSchema>;

/** A defect in the story itself, reported rather than silently fixed. */
export const findingSchema = z.object({
  kind: findingKindSchema,
  detail: z.string().describe('What is wrong, quoting the words concerned.'),
  suggestion: z
    .string()
    .describe('A rewrite of the defective statement or part; omitted when none applies.')
    .default(''),
  split: z
    .array(z.string())
    .describe(
      'not_atomic only: the proposed smaller stories, each a full "As a ..., I want ..., so that ..." sentence.',
    )
    .default([]),
});
export type Finding = z.infer<typeof findingSchema>;

/** What an iteration call returns: the LLM output contract. */
export const iterationOutputSchema = z.object({
  summary: z.string().describe('One or two sentences on what this iteration added or changed.'),
  patches: z.array(patchSchema),
  findings: z.array(findingSchema).describe('Defects in the story itself; empty when there are none.'),
});
export type IterationOutput = z.infer<typeof iterationOutputSchema>;

/** A validated edit with its resolved item id, as reported in an iteration result's `changes`. */
export const changeSchema = z.object({
  op: z.enum(['add', 'replace', 'remove']),
  section: sectionNameSchema,
  itemId: z.string(),
  text: z.string(),
  topic: z.string().optional(),
  previousText: z.string().optional(),
  given: z.string().optional(),
  when: z.string().optional(),
  then: z.string().optional(),
});
export type Change = z.infer<typeof changeSchema>;

export const rejectionReasons = [
  'wrong_section',
  'unknown_target',
  'duplicate',
  'empty_text',
  'conflict',
] as const;

/** A patch that was not applied, and why. */
export const rejectedChangeSchema = z.object({
  op: z.enum(['add', 'replace', 'remove']),
  section: z.string(),
  target: z.string(),
  text: z.string(),
  reason: z.enum(rejectionReasons),
  detail: z.string(),
});
export type RejectedChange = z.infer<typeof rejectedChangeSchema>;

/** Accepted changes (with resolved ids) and rejected patches (with reasons). */
export interface PatchValidation {
  changes: Change[];
  rejected: RejectedChange[];
}

function sectionItems(story: Story, section: SectionName): readonly (StoryItem | NoteItem)[] {
  return story[section];
}

function reject(patch: Patch, reason: RejectedChange['reason'], detail: string): RejectedChange {
  return { op: patch.op, section: patch.section, target: patch.target, text: patch.text, reason, detail };
}

/**
 * Checks the patches of an iteration (or of a workflow pass) against the story it was run on. Invalid ones are
 * returned as `rejected` with a reason (never applied); valid ones become `changes` with deterministic ids.
 */
export function validatePatches(
  story: Story,
  author: PatchAuthor,
  patches: readonly Patch[],
): PatchValidation {
  const definition = authorRules(author);
  const changes: Change[] = [];
  const rejected: RejectedChange[] = [];
  const touchedTargets = new Set<string>();
  const textsBySection = new Map<SectionName, Set<string>>();
  const texts = (section: SectionName): Set<string> => {
    let set = textsBySection.get(section);
    if (!set) {
      set = new Set(sectionItems(story, section).map((item) => normalizeText(item.text)));
      textsBySection.set(section, set);
    }
    return set;
  };

  for (const patch of patches) {
    if (!definition.sections.includes(patch.section)) {
      rejected.push(
        reject(patch, 'wrong_section', `${author} may change ${definition.sections.join(', ')} only.`),
      );
      continue;
    }
    // An outcome criterion given as Given/When/Then gets its text from the steps, so the two never disagree.
    const steps = patch.section === 'outcomeCriteria' ? criterionSteps(patch) : undefined;
    const text = steps ? criterionText(steps) : patch.text.replace(/\s+/g, ' ').trim();
    const topic = patch.section === 'implementationNotes' ? patch.topic.trim() || definition.name : undefined;
    if (patch.op !== 'remove' && text === '') {
      rejected.push(reject(patch, 'empty_text', `${patch.op} needs a non-empty text.`));
      continue;
    }
    if (patch.op !== 'remove' && texts(patch.section).has(normalizeText(text))) {
      rejected.push(reject(patch, 'duplicate', `${patch.section} already has this item.`));
      continue;
    }
    if (patch.op === 'add') {
      texts(patch.section).add(normalizeText(text));
      changes.push({
        op: 'add',
        section: patch.section,
        itemId: itemId(patch.section, author, text),
        text,
        topic,
        ...steps,
      });
      continue;
    }
    const target = sectionItems(story, patch.section).find((item) => item.id === patch.target);
    if (!target) {
      rejected.push(reject(patch, 'unknown_target', `No item ${patch.target} in ${patch.section}.`));
      continue;
    }
    if (touchedTargets.has(target.id)) {
      rejected.push(reject(patch, 'duplicate', `${target.id} is already changed by ${author}.`));
      continue;
    }
    touchedTargets.add(target.id);
    if (patch.op === 'replace') texts(patch.section).add(normalizeText(text));
    changes.push({
      op: patch.op,
      section: patch.section,
      itemId: target.id,
      text: patch.op === 'replace' ? text : target.text,
      topic,
      previousText: target.text,
      ...(patch.op === 'replace' ? steps : undefined),
    });
  }
  return { changes, rejected };
}

/** The story after applying changes, what applied, and what no longer fitted. */
export interface ApplyOutcome {
  story: Story;
  applied: Change[];
  conflicts: RejectedChange[];
}

function conflict(change: Change, detail: string): RejectedChange {
  return {
    op: change.op,
    section: change.section,
    target: change.op === 'add' ? '' : change.itemId,
    text: change.text,
    reason: 'conflict',
    detail,
  };
}

/**
 * Applies validated changes to a story (which may have moved on since they were validated, when parallel
 * results are merged). Changes that no longer fit become `conflict` rejections. Pure: the input is not mutated.
 */
export function applyChanges(story: Story, author: PatchAuthor, changes: readonly Change[]): ApplyOutcome {
  const next = structuredClone(story);
  const applied: Change[] = [];
  const conflicts: RejectedChange[] = [];
  for (const change of changes) {
    const items: (StoryItem | NoteItem)[] = next[change.section];
    const duplicate = items.some(
      (item) => item.id !== change.itemId && normalizeText(item.text) === normalizeText(change.text),
    );
    if (change.op === 'add') {
      if (duplicate || items.some((item) => item.id === change.itemId)) {
        conflicts.push(conflict(change, `An earlier iteration already added this to ${change.section}.`));
        continue;
      }
      const item: StoryItem = {
        id: change.itemId,
        text: change.text,
        addedBy: author,
        changedBy: [],
        ...criterionSteps(change),
      };
      if (change.section === 'implementationNotes') {
        next.implementationNotes.push({ ...item, topic: change.topic ?? authorRules(author).name });
      } else {
        next[change.section].push(item);
      }
      applied.push(change);
      continue;
    }
    const index = items.findIndex((item) => item.id === change.itemId);
    const current = items[index];
    if (!current || current.text !== change.previousText) {
      conflicts.push(conflict(change, `An earlier iteration already changed or removed ${change.itemId}.`));
      continue;
    }
    if (change.op === 'remove') {
      items.splice(index, 1);
    } else if (duplicate) {
      conflicts.push(conflict(change, `An earlier iteration already added this to ${change.section}.`));
      continue;
    } else {
      const { given: _given, when: _when, then: _then, ...plain } = current;
      items[index] = {
        ...plain,
        text: change.text,
        changedBy: [...current.changedBy, author],
        ...criterionSteps(change),
      };
    }
    applied.push(change);
  }
  return { story: next, applied, conflicts };
}
