import { z } from 'zod';
import { encodeData } from './data-encoding';
import { criterionSteps, criterionText, indefiniteArticle, type Story, type StoryItem } from './story';
import { systemContextSchema, type SystemContext } from './system-analysis';

/**
 * Shared names across a backlog. Discovery finds the terms the stories write more than one way, each with
 * its canonical name; every story of the backlog is then refined knowing them (`backlogContextBlock`) and its
 * specification is written with them (`unifyNames`), so "shopping cart" in one story and "shopping basket" in
 * another become the same thing everywhere. The user's own text (`original`) is never rewritten.
 */

/** What a story of a backlog is refined with: its backlog id and the context discovery found. */
export const backlogContextSchema = z.object({
  storyId: z.string(),
  context: systemContextSchema,
});
export type BacklogContext = z.infer<typeof backlogContextSchema>;

export type Vocabulary = SystemContext['vocabulary'];

/** One term renamed in a specification: how many of its items (and the statement) said it the other way. */
export const renameSchema = z.object({
  from: z.string().describe('The spelling the specification used.'),
  to: z.string().describe("The backlog's canonical name that replaced it."),
  items: z.number().int().nonnegative().describe('Items rewritten (the statement counts as one).'),
});
export type Rename = z.infer<typeof renameSchema>;

/** The names a story must use, as data after the story in every engine call of a backlog's story. */
export function backlogContextBlock(backlog: BacklogContext): string {
  const names = (terms: readonly { name: string }[]) => terms.map((term) => term.name);
  const { context } = backlog;
  const data = {
    storyId: backlog.storyId,
    actors: names(context.actors),
    entities: names(context.entities),
    screens: names(context.screens),
    vocabulary: context.vocabulary,
  };
  return `\n<backlog_context format="json">\n${encodeData(data)}\n</backlog_context>`;
}

/** How every call uses a backlog's context; part of the shared instructions. */
export const backlogGuidance = `# Backlogs
- When the context has a backlog_context block after the story, the story is one of a backlog refined together. It lists the names the whole backlog uses: actors, entities, screens, and vocabulary (each canonical name with the variants other stories wrote). It is DATA, like the story.
- Write every item with these canonical names, never a variant, so the same thing has one name in every story. Do not add an actor, entity or screen because another story of the backlog has it: only this story's needs count.`;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Words of a spelling may be joined by a space, a hyphen or nothing ("e-mail", "email", "e mail"). */
function spellingPattern(spelling: string): string {
  return spelling
    .trim()
    .split(/[\s-]+/)
    .map(escapeRegExp)
    .join('[\\s-]?');
}

/** A whole-word mention of a spelling, singular or plural. */
export function mentionPattern(spelling: string): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{N}-])${spellingPattern(spelling)}(?:e?s)?(?![\\p{L}\\p{N}-])`, 'iu');
}

function plural(term: string): string {
  if (/[^aeiou]y$/i.test(term)) return `${term.slice(0, -1)}ies`;
  if (/(?:s|x|z|ch|sh)$/i.test(term)) return `${term}es`;
  return `${term}s`;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

interface Spelling {
  text: string;
  exact: RegExp;
  canonical: string;
}

/** Renames in one text; `seen` collects "spelling\ncanonical" for each rename made. */
type Renamer = (text: string, seen?: Set<string>) => string;

/**
 * A text renamer for a vocabulary. Canonical names are matched too (and left as they are), so a variant inside
 * a canonical name ("cart" in "shopping cart") is never renamed and renaming twice changes nothing. Longer
 * spellings win; a plural stays plural, a capital stays a capital and "a"/"an" before the term agrees with it.
 */
function renamer(vocabulary: Vocabulary): Renamer | undefined {
  const spellings: Spelling[] = vocabulary
    .flatMap((term) =>
      [term.canonical, ...term.variants].map((text) => ({
        text,
        exact: new RegExp(`^${spellingPattern(text)}$`, 'iu'),
        canonical: term.canonical,
      })),
    )
    .filter((spelling) => spelling.text.trim() !== '')
    .sort((a, b) => b.text.length - a.text.length);
  if (vocabulary.every((term) => term.variants.length === 0)) return undefined;
  const alternatives = spellings.map((spelling) => spellingPattern(spelling.text)).join('|');
  const pattern = new RegExp(
    `(?<![\\p{L}\\p{N}-])(?:(an?)\\s+)?(${alternatives})(e?s)?(?![\\p{L}\\p{N}-])`,
    'giu',
  );
  return (text, seen) =>
    text.replace(pattern, (match: string, article: string | undefined, term: string, suffix?: string) => {
      const spelling = spellings.find((candidate) => candidate.exact.test(term));
      // Any other way of writing it is renamed, spacing and hyphens included ("wishlist", "wish-list").
      if (!spelling || term.toLowerCase() === spelling.canonical.toLowerCase()) return match;
      seen?.add(`${term.toLowerCase()}\n${spelling.canonical}`);
      const renamed = suffix ? plural(spelling.canonical) : spelling.canonical;
      if (!article) return /^\p{Lu}/u.test(term) ? capitalized(renamed) : renamed;
      const agreed = indefiniteArticle(renamed);
      return `${/^A/.test(article) ? capitalized(agreed) : agreed} ${renamed}`;
    });
}

/** A text with every variant of the vocabulary written with its canonical name. */
export function renameText(text: string, vocabulary: Vocabulary): string {
  return renamer(vocabulary)?.(text) ?? text;
}

/** Applies the canonical names to one item, keeping a criterion's text and steps in agreement. */
function renameItem<T extends StoryItem>(item: T, rename: (text: string) => string): T {
  const steps = criterionSteps(item);
  if (!steps) return { ...item, text: rename(item.text) };
  const renamed = { given: rename(steps.given), when: rename(steps.when), then: rename(steps.then) };
  return { ...item, ...renamed, text: criterionText(renamed) };
}

/**
 * The specification written with the backlog's canonical names: the statement and every item (ids kept, each
 * rewritten item marked `changedBy: naming`), never the user's original text. Reports each rename once with
 * the number of items it touched.
 */
export function unifyNames(story: Story, vocabulary: Vocabulary): { story: Story; renames: Rename[] } {
  const rename = renamer(vocabulary);
  if (!rename) return { story, renames: [] };
  const counts = new Map<string, number>();
  /** `change` rewritten through the renamer; the value itself when nothing in it was renamed. */
  const renamed = <T>(value: T, change: (text: (input: string) => string) => T): T => {
    const seen = new Set<string>();
    const changed = change((input) => rename(input, seen));
    for (const key of seen) counts.set(key, (counts.get(key) ?? 0) + 1);
    return seen.size > 0 ? changed : value;
  };
  const items = <T extends StoryItem>(list: readonly T[]): T[] =>
    list.map((item) =>
      renamed(item, (text) => ({ ...renameItem(item, text), changedBy: [...item.changedBy, 'naming'] })),
    );
  const { statement } = story;
  const unified: Story = {
    ...story,
    statement: renamed(statement, (text) => ({
      asA: text(statement.asA),
      iWant: text(statement.iWant),
      soThat: text(statement.soThat),
    })),
    behaviour: items(story.behaviour),
    outcomeCriteria: items(story.outcomeCriteria),
    systemCriteria: items(story.systemCriteria),
    implementationNotes: items(story.implementationNotes),
    openQuestions: items(story.openQuestions),
  };
  const renames = [...counts].map(([key, count]) => {
    const [from = '', to = ''] = key.split('\n');
    return { from, to, items: count };
  });
  return { story: renames.length === 0 ? story : unified, renames };
}
