import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors';
import { productTypeSchema, sectionNames, type ProductType, type SectionName } from './catalog';

/** Who added or changed an item: an iteration id, or `original` for the user's own text. */
const authorSchema = z.string().min(1);

/** One item of a section, traceable to the iteration (or the user) that wrote it. */
export const storyItemSchema = z.object({
  id: z.string().min(1),
  text: z.string().min(1),
  addedBy: authorSchema,
  /** Iterations that replaced the text after it was added, oldest first. */
  changedBy: z.array(authorSchema),
  /** Outcome criteria in Given/When/Then form; `text` is then `criterionText` of the three. */
  given: z.string().min(1).optional(),
  when: z.string().min(1).optional(),
  then: z.string().min(1).optional(),
});
export type StoryItem = z.infer<typeof storyItemSchema>;

/** The Given/When/Then parts of an outcome criterion. */
export interface CriterionSteps {
  given: string;
  when: string;
  then: string;
}

function stepText(step: string, keyword: string): string {
  return collapse(step)
    .replace(new RegExp(`^${keyword}\\s+`, 'i'), '')
    .replace(/[\s.;,]+$/, '');
}

/**
 * The one sentence form of a Given/When/Then criterion ("Given ..., when ..., then ..."), so `text` and the
 * three parts can never disagree. Leading keywords and trailing punctuation in the parts are tolerated.
 */
export function criterionText(steps: CriterionSteps): string {
  return `Given ${stepText(steps.given, 'given')}, when ${stepText(steps.when, 'when')}, then ${stepText(steps.then, 'then')}.`;
}

/** The steps of a patch or change when all three are present, else undefined (a plain-text criterion). */
export function criterionSteps(parts: {
  given?: string | undefined;
  when?: string | undefined;
  then?: string | undefined;
}): CriterionSteps | undefined {
  const given = parts.given?.trim() ?? '';
  const when = parts.when?.trim() ?? '';
  const then = parts.then?.trim() ?? '';
  if (given === '' || when === '' || then === '') return undefined;
  return {
    given: stepText(given, 'given'),
    when: stepText(when, 'when'),
    then: stepText(then, 'then'),
  };
}

/** An implementation note, grouped by topic. */
export const noteItemSchema = storyItemSchema.extend({ topic: z.string().min(1) });
export type NoteItem = z.infer<typeof noteItemSchema>;

/** "As a ..., I want ..., so that ...", split into its parts. */
export const statementSchema = z.object({
  /** The role without its article ("bank customer"); empty when the story names none. */
  asA: z.string(),
  iWant: z.string(),
  /** Empty when the story states no benefit: the validation iteration flags that. */
  soThat: z.string(),
});
export type Statement = z.infer<typeof statementSchema>;

/** The structured story: what iterations patch, jobs store and renderers print. */
export const storySchema = z.object({
  productType: productTypeSchema,
  statement: statementSchema,
  /** The user's text exactly as given (front matter removed), so nothing they wrote is ever lost. */
  original: z.string(),
  behaviour: z.array(storyItemSchema),
  outcomeCriteria: z.array(storyItemSchema),
  systemCriteria: z.array(storyItemSchema),
  implementationNotes: z.array(noteItemSchema),
  openQuestions: z.array(storyItemSchema),
});
export type Story = z.infer<typeof storySchema>;

const sectionPrefixes: Record<SectionName, string> = {
  behaviour: 'b',
  outcomeCriteria: 'oc',
  systemCriteria: 'sc',
  implementationNotes: 'n',
  openQuestions: 'q',
};

/** The items of every section: what a new item must not repeat. */
export function allItems(story: Story): (StoryItem | NoteItem)[] {
  return sectionNames.flatMap((section) => story[section]);
}

/** Lower-cased, whitespace-collapsed, trailing punctuation dropped: what counts as "the same item". */
export function normalizeText(text: string): string {
  return text
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/[\s.;:!]+$/, '')
    .trim();
}

/**
 * Item ids derive from section, author and content, never from randomness or clocks, so parallel iterations
 * that are merged again (a durable replay, a repeated run) produce byte-identical stories.
 */
export function itemId(section: SectionName, author: string, text: string): string {
  const hash = createHash('sha256')
    .update(`${section}\n${normalizeText(text)}`)
    .digest('hex')
    .slice(0, 8);
  return `${sectionPrefixes[section]}-${author}-${hash}`;
}

const criterionPattern = /^\**given\**\s+(.+?),\s*\**when\**\s+(.+?),\s*\**then\**\s+(.+?)[.\s]*$/i;

/** Reads "Given ..., when ..., then ..." back into its steps (as `criterionText` and the renderer write it). */
export function parseCriterionSteps(text: string): CriterionSteps | undefined {
  const match = criterionPattern.exec(text);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return criterionSteps({ given: match[1], when: match[2], then: match[3] });
}

/** Options for `parseStory`. */
export interface ParseOptions {
  /** Overrides the front matter's `productType` (an explicit `--product-type` beats the file). */
  productType?: ProductType;
}

const frontMatterPattern = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/;

function splitFrontMatter(text: string): { fields: Record<string, string>; body: string } {
  const match = frontMatterPattern.exec(text);
  if (!match) return { fields: {}, body: text };
  const fields: Record<string, string> = {};
  for (const line of (match[1] ?? '').split(/\r?\n/)) {
    const field = /^\s*([A-Za-z][\w-]*)\s*:\s*(.*?)\s*$/.exec(line);
    if (field?.[1]) fields[field[1]] = (field[2] ?? '').replace(/^["']|["']$/g, '');
  }
  return { fields, body: text.slice(match[0].length) };
}

const statementPattern =
  /\bAs an? ([^,\n]+?)(?:,\s*|\s+)I (?:want|need|would like|wish) ([\s\S]+?)(?:,?\s+so that ([\s\S]+?))?(?:[.!](?=\s|$)|\n\s*\n|$)/i;

/** The statement opens a story; looking further only costs time on hostile 50 KB inputs. */
const statementSearchChars = 4_000;

/** Reads "As a ..., I want ... so that ..." from the text; empty parts are left for validation to flag. */
function parseStatement(fullText: string): Statement {
  const text = fullText.slice(0, statementSearchChars);
  const match = statementPattern.exec(text);
  if (match) {
    return {
      asA: collapse(match[1] ?? ''),
      iWant: collapse(match[2] ?? ''),
      soThat: collapse(match[3] ?? ''),
    };
  }
  const firstSentence = /^\s*([\s\S]+?)(?:[.!?](?=\s|$)|\n\s*\n|$)/.exec(stripMarkdown(text));
  // Without a statement the first sentence stands in for "I want"; a run-on one is cut to a readable length.
  const want = collapse(firstSentence?.[1] ?? '');
  return { asA: '', iWant: want.length > 300 ? want.slice(0, 300).replace(/\s+\S*$/, '') : want, soThat: '' };
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function stripMarkdown(text: string): string {
  return text
    .split(/\r?\n/)
    .filter((line) => !/^\s*#/.test(line))
    .map((line) => line.replace(/^\s*(?:[-*+]|\d+[.)])\s+/, '').replace(/[*_`]/g, ''))
    .join('\n');
}

type HeadingTarget = SectionName | 'original' | 'ignored';

/** Headings this module renders, plus the usual ones people write, so rendered stories parse back. */
function headingTarget(heading: string): HeadingTarget | undefined {
  const normalized = heading
    .toLowerCase()
    .replace(/[^a-z ]/g, '')
    .trim();
  if (/^(user[- ]?visible )?behaviou?r$/.test(normalized)) return 'behaviour';
  if (/^system( acceptance)? criteria$/.test(normalized)) return 'systemCriteria';
  if (/^((outcome|user) )?acceptance criteria$|^outcome criteria$/.test(normalized)) return 'outcomeCriteria';
  if (/^(implementation )?notes$/.test(normalized)) return 'implementationNotes';
  if (/^open questions$|^questions$/.test(normalized)) return 'openQuestions';
  if (normalized === 'original story') return 'original';
  if (normalized === 'story' || normalized === 'user story') return 'ignored';
  return undefined;
}

interface Block {
  target: HeadingTarget | undefined;
  topic: string;
  lines: string[];
}

function splitBlocks(body: string): Block[] {
  const blocks: Block[] = [{ target: undefined, topic: '', lines: [] }];
  let current: Block = blocks[0] ?? { target: undefined, topic: '', lines: [] };
  for (const line of body.split(/\r?\n/)) {
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const level = heading[1]?.length ?? 1;
      const title = heading[2] ?? '';
      const target = headingTarget(title);
      if (target !== undefined) {
        current = { target, topic: '', lines: [] };
        blocks.push(current);
        continue;
      }
      if (level >= 3 && current.target === 'implementationNotes') {
        current = { target: 'implementationNotes', topic: title, lines: [] };
        blocks.push(current);
        continue;
      }
      if (level === 1 && current.target === undefined) continue;
    }
    current.lines.push(line);
  }
  return blocks;
}

function bulletItems(lines: string[]): { text: string; lead: string }[] {
  const items: { text: string; lead: string }[] = [];
  let lead = '';
  for (const line of lines) {
    const bullet = /^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?(.+)$/.exec(line);
    if (bullet?.[1]) {
      items.push({ text: collapse(bullet[1]), lead });
    } else if (line.trim() !== '') {
      lead = collapse(line).replace(/:$/, '');
    }
  }
  return items;
}

function unquote(lines: string[]): string {
  return lines
    .map((line) => line.replace(/^> ?/, ''))
    .join('\n')
    .trim();
}

/**
 * Parses free text, markdown (with the section headings `renderMarkdown` writes) and an optional front-matter
 * block (`productType`). The user's text is kept verbatim in `original`; bullets found in it become items
 * attributed to `original`.
 */
export function parseStory(text: string, options: ParseOptions = {}): Story {
  const { fields, body } = splitFrontMatter(text);
  const declared = fields.productType ?? fields['product-type'];
  const productType = productTypeSchema.safeParse(options.productType ?? declared ?? 'web');
  if (!productType.success) {
    throw new AppError(
      'validation_failed',
      `Unknown productType "${declared ?? ''}": use one of web, mobile-native, mobile-web, desktop, api.`,
    );
  }
  if (body.trim() === '') throw new AppError('validation_failed', 'The story is empty.');

  const blocks = splitBlocks(body);
  const originalBlock = blocks.find((block) => block.target === 'original');
  const original = originalBlock ? unquote(originalBlock.lines) : body.trim();

  const story: Story = {
    productType: productType.data,
    statement: parseStatement(original),
    original,
    behaviour: [],
    outcomeCriteria: [],
    systemCriteria: [],
    implementationNotes: [],
    openQuestions: [],
  };
  const seen = new Set<string>();
  const sources = originalBlock ? blocks.filter((block) => block.target !== 'original') : blocks;
  for (const block of sources) {
    if (block.target === 'ignored' || block.target === 'original') continue;
    for (const { text: itemText, lead } of bulletItems(block.lines)) {
      const section: SectionName =
        block.target ?? (itemText.trim().endsWith('?') ? 'openQuestions' : 'implementationNotes');
      const key = `${section}\n${normalizeText(itemText)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const steps = section === 'outcomeCriteria' ? parseCriterionSteps(itemText) : undefined;
      const text = steps ? criterionText(steps) : itemText;
      const item: StoryItem = {
        id: itemId(section, 'original', text),
        text,
        addedBy: 'original',
        changedBy: [],
        ...steps,
      };
      if (section === 'implementationNotes') {
        story.implementationNotes.push({ ...item, topic: block.topic || lead || 'Context' });
      } else {
        story[section].push(item);
      }
    }
  }
  return story;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A short title from the statement, e.g. "Transfer money to another account". */
export function storyTitle(story: Story): string {
  const want = story.statement.iWant.replace(/^to\s+/i, '').replace(/[.!]+$/, '');
  const title = want.length > 80 ? `${want.slice(0, 77).replace(/\s+\S*$/, '')}...` : want;
  return capitalize(title) || 'User story';
}

/** "a" or "an" by sound, close enough for role names ("an accountant", "a user"). */
export function indefiniteArticle(word: string): 'a' | 'an' {
  return /^[aeiou]/i.test(word) && !/^(us|uni|eu|one)/i.test(word) ? 'an' : 'a';
}

function renderStatement(statement: Statement): string {
  if (statement.asA === '') return `${capitalize(statement.iWant)}.`;
  const benefit = statement.soThat === '' ? '' : `, **so that** ${statement.soThat}`;
  return `**As ${indefiniteArticle(statement.asA)}** ${statement.asA}, **I want** ${statement.iWant}${benefit}.`;
}

function renderList(items: readonly StoryItem[], checkbox: boolean): string[] {
  return items.map((item) => `- ${checkbox ? '[ ] ' : ''}${item.text}`);
}

/**
 * Clean markdown for people and for the job's `result.story`: statement, sections with their items, and the
 * original text quoted verbatim at the end. `parseStory` reads it back.
 */
export function renderMarkdown(story: Story): string {
  const out: string[] = [`# ${storyTitle(story)}`, '', renderStatement(story.statement), ''];
  const section = (title: string, lines: string[]): void => {
    if (lines.length === 0) return;
    out.push(`## ${title}`, '', ...lines, '');
  };
  section('User-visible behaviour', renderList(story.behaviour, false));
  section('Outcome acceptance criteria', renderList(story.outcomeCriteria, true));
  section('System acceptance criteria', renderList(story.systemCriteria, true));
  const notes: string[] = [];
  const topics = [...new Set(story.implementationNotes.map((note) => note.topic))];
  for (const topic of topics) {
    if (notes.length > 0) notes.push('');
    notes.push(
      `### ${topic}`,
      '',
      ...renderList(
        story.implementationNotes.filter((note) => note.topic === topic),
        false,
      ),
    );
  }
  section('Implementation notes', notes);
  section('Open questions', renderList(story.openQuestions, false));
  section(
    'Original story',
    story.original.split(/\r?\n/).map((line) => (line === '' ? '>' : `> ${line}`)),
  );
  return `${out.join('\n').trimEnd()}\n`;
}

/** The structured story as pretty JSON (the API's and the CLI's machine-readable form). */
export function renderJson(story: Story): string {
  return `${JSON.stringify(story, null, 2)}\n`;
}
