import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors';
import { productTypeSchema, sectionNames, type ProductType, type SectionName } from './catalog';
import type { Finding, FindingKind } from './patch';
import { reviewDimensions, type Review, type ReviewDimension } from './review';

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

/**
 * How a statement opens ("As a <role>, I want") in the languages stories are commonly written in. Group 1 is the
 * role; the wish ("to transfer money ...") starts where the match ends.
 */
interface StatementForm {
  opening: RegExp;
  /** Where the benefit starts; group 1 is the marker's own words, dropped from `soThat`. */
  benefit: RegExp;
}

/**
 * A statement opens a sentence: at the start of the text, or after a sentence end, a colon, a bracket or a line
 * break ("[FIN-22] As a ..."), never inside one ("... as PDF so that I can ...").
 */
const sentenceStart = String.raw`(?<=^[\s>*_"'(\[]*|[.!?:;\])\n][\s>*_"'(\[]*)`;

function opening(body: string): RegExp {
  return new RegExp(sentenceStart + body, 'iu');
}

/**
 * "so that", "so I can", "in order to", "to be able to", and a purpose clause after a comma (", to understand
 * my health"): not ", to the manager", which continues the wish.
 */
const englishBenefit =
  /(?:,?\s+(so that|so(?=\s+(?:I|we|you|they|he|she|it|my|our|their|his|her|the|a|an|every|each|all|any|nobody|no one)\b)|in order that|in order to|to be able to)|,\s+(to)(?=\s+(?!(?:the|a|an|my|our|their|his|her|your|its|all|each|every|any|me|us|them|him|you|it)\b)[a-z]+\s+\S))\s+/iu;

const statementForms: readonly StatementForm[] = [
  {
    opening: opening(
      String.raw`As (?:an?\s+|the\s+)?([^,\n]{1,80}?)(?:,\s*|\s+)(I|we)(?:\s+(?:really\s+|also\s+)?(?:want|need|would like|wish|would love|expect|require|must be able|should be able|can)|['’]d\s+(?:really\s+|also\s+)?(?:like|love))\b\s*`,
    ),
    benefit: englishBenefit,
  },
  {
    opening: opening(
      String.raw`En tant qu(?:e\s+|['’]\s*)(?:(?:un|une|le|la|les)\s+|l['’]\s*)?([^,\n]{1,80}?),?\s*(?:je|j['’])\s*(?:veux|voudrais|souhaite|souhaiterais|aimerais|dois|peux|ai besoin)\b\s*`,
    ),
    benefit:
      /,?\s+(afin (?:de|d['’]|que|qu['’])|pour (?:que|qu['’]|pouvoir)|de sorte que|de façon à|(?<=,\s*)pour|pour(?=\s+[\p{L}]+(?:er|ir|re|oir)(?![\p{L}])))\s*/iu,
  },
  {
    opening: opening(
      String.raw`Als\s+(?:(?:ein|eine|einer|der|die|das)\s+)?([^,\n]{1,80}?),?\s*(?:(?:möchte|will|muss|kann|wünsche|brauche|würde)\s+ich|ich\s+(?:möchte|will|muss))\b\s*`,
    ),
    benefit: /,?\s*(damit|sodass|so dass|(?<=,\s*)um|um(?=\s+(?:[\p{L}-]+\s+){0,6}zu\s))\s+/iu,
  },
  {
    opening: opening(
      String.raw`Als\s+(?:(?:een|de|het)\s+)?([^,\n]{1,80}?),?\s*(?:(?:wil|moet|kan|zou)\s+ik|ik\s+wil)\b\s*(?:graag\s+)?`,
    ),
    benefit: /,?\s*(zodat|opdat|(?<=,\s*)om|om(?=\s+(?:[\p{L}-]+\s+){0,6}te\s))\s+/iu,
  },
  {
    opening: opening(
      String.raw`Como\s+(?:(?:un|una|el|la)\s+)?([^,\n]{1,80}?),?\s*(?:yo\s+)?(?:quiero|necesito|deseo|quisiera|me gustaría|puedo)\b\s*`,
    ),
    benefit:
      /,?\s+(para que|para poder|a fin de|con el fin de|de (?:modo|forma|manera) que|(?<=,\s*)para|para(?=\s+[\p{L}]+(?:ar|er|ir|ír)(?![\p{L}])))\s+/iu,
  },
  {
    opening: opening(
      String.raw`Como\s+(?:(?:um|uma|o|a)\s+)?([^,\n]{1,80}?),?\s*(?:eu\s+)?(?:quero|preciso|desejo|gostaria de|posso)\b\s*`,
    ),
    benefit:
      /,?\s+(para que|para poder|a fim de|de (?:modo|forma|maneira) que|(?<=,\s*)para|para(?=\s+[\p{L}]+(?:ar|er|ir|or|ôr)(?![\p{L}])))\s+/iu,
  },
  {
    opening: opening(
      String.raw`Come\s+(?:(?:un|una|uno|il|lo|la)\s+|l['’]\s*)?([^,\n]{1,80}?),?\s*(?:io\s+)?(?:voglio|vorrei|desidero|ho bisogno di|posso)\b\s*`,
    ),
    benefit:
      /,?\s+(così che|cosicché|in modo (?:che|da)|affinché|per poter|(?<=,\s*)per|per(?=\s+[\p{L}]+(?:are|ere|ire)(?![\p{L}])))\s+/iu,
  },
];

/** "I want to ..." or "We need ..." with no role in front of it. */
const roleLessOpening =
  /^(I|we)(?:\s+(?:really\s+|also\s+)?(?:want|need|would like|wish)|['’]d\s+(?:really\s+|also\s+)?(?:like|love))\b\s*/iu;

/** Words whose full stop does not end a sentence ("etc. so that", "e.g. a PDF"). */
const abbreviations = /(?:^|[\s(])(?:etc|e\.g|i\.e|vs|approx|incl|esp|cf|Dr|Mr|Mrs|Ms|St|No)$/i;

/** A day before its month, written with an ordinal full stop ("31. Dezember", "1. maj"): not a sentence end. */
const ordinalDateAhead =
  /^\s+(?:januar|jänner|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember|january|february|march|may|june|july|october|december|jan|feb|mär|apr|jun|jul|aug|sep|sept|okt|nov|dez)(?![\p{L}])/iu;

/**
 * Where the sentence starting at `from` ends: a full stop, question or exclamation mark followed by a capital, a
 * digit or the end; a blank line; or a line that starts a list or a heading.
 */
function sentenceEnd(text: string, from: number): number {
  const pattern = /[.!?](?=\s+[\p{Lu}\d"'([<]|\s*$)|\n\s*\n|\n(?=\s*(?:[-*+#]|\d+[.)])\s)/gu;
  pattern.lastIndex = from;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    if (match[0] === '.' && abbreviations.test(text.slice(Math.max(from, match.index - 8), match.index))) {
      continue;
    }
    if (
      match[0] === '.' &&
      /(?:^|[^\d.])\d{1,2}$/.test(text.slice(Math.max(from, match.index - 3), match.index)) &&
      ordinalDateAhead.test(text.slice(match.index + 1, match.index + 16))
    ) {
      continue;
    }
    return match.index;
  }
  return text.length;
}

/** A sentence of a text with its position, as `splitSentences` finds it. */
export interface SentenceSpan {
  text: string;
  start: number;
  end: number;
}

/** The sentences of a text, by the same rules the statement parser uses ("etc. so that" is one sentence). */
export function splitSentences(text: string): SentenceSpan[] {
  const spans: SentenceSpan[] = [];
  let start = 0;
  while (start < text.length) {
    const skipped = /^[\s]*/.exec(text.slice(start))?.[0].length ?? 0;
    start += skipped;
    if (start >= text.length) break;
    const stop = sentenceEnd(text, start);
    const end = stop < text.length && /[.!?]/.test(text.charAt(stop)) ? stop + 1 : stop;
    const sentence = text.slice(start, end).trim();
    if (sentence !== '') spans.push({ text: sentence, start, end });
    start = Math.max(end, start + 1);
  }
  return spans;
}

/**
 * Splits a wish into what is wanted and why. Benefits written "in order to ..." or "to be able to ..." become
 * "<subject> can ...", so the benefit always reads after "so that".
 */
function splitBenefit(sentence: string, benefit: RegExp, subject: string): { iWant: string; soThat: string } {
  const match = benefit.exec(sentence);
  if (!match || match.index === 0 || collapse(sentence.slice(0, match.index)) === '') {
    return { iWant: collapse(sentence), soThat: '' };
  }
  const rest = collapse(sentence.slice(match.index + match[0].length));
  const marker = (match[1] ?? match[2] ?? '').toLowerCase();
  const soThat = /^(in order to|to be able to|to)$/.test(marker) ? `${subject} can ${rest}` : rest;
  return { iWant: collapse(sentence.slice(0, match.index)), soThat };
}

/** A purpose clause opening the sentence, then what is wanted: "In order to ..., the ...". */
const leadingPurpose =
  /^(?:in order to|to)\s+((?!(?:the|a|an|my|our|their|his|her|your|its|all|each|every|any|me|us|them|him|you|it|do)\b)[a-z]+\b[^,]{2,120}),\s+(\S.*)$/i;

/** The statement opens a story; looking further only costs time on hostile 50 KB inputs. */
const statementSearchChars = 4_000;

/**
 * Reads "As a ..., I want ... so that ..." from the text, in English or in the other common story languages
 * (French, German, Dutch, Spanish, Portuguese, Italian), keeping every part in the story's own words. The
 * benefit may also be written "so I can", "in order to" or "to be able to". Empty parts are left for validation
 * to flag; without a statement the first sentence stands in for the wish.
 */
export function parseStatement(fullText: string): Statement {
  const text = fullText.slice(0, statementSearchChars);
  for (const form of statementForms) {
    const match = form.opening.exec(text);
    const role = collapse(match?.[1] ?? '');
    if (!match || role === '' || /(?:^|\s)I(?:\s|$)/.test(role)) continue;
    const start = match.index + match[0].length;
    const subject = /^we$/i.test(match[2] ?? '') ? 'we' : 'I';
    const { iWant, soThat } = splitBenefit(
      text.slice(start, sentenceEnd(text, start)),
      form.benefit,
      subject,
    );
    return { asA: role, iWant, soThat: soThat.replace(/[.!?]+$/, '') };
  }
  const body = stripMarkdown(text).replace(/^\s+/, '');
  const roleLess = roleLessOpening.exec(body);
  const start = roleLess ? roleLess[0].length : 0;
  const sentence = body.slice(start, sentenceEnd(body, start)).replace(/[.!?]+$/, '');
  const subject = /^we$/i.test(roleLess?.[1] ?? '') ? 'we' : 'I';
  // "To avoid double bookings, the calendar must block a room": the purpose may come first.
  const purposeFirst = leadingPurpose.exec(sentence);
  const { iWant, soThat } =
    purposeFirst?.[1] && purposeFirst[2]
      ? { iWant: collapse(purposeFirst[2]), soThat: `${subject} can ${collapse(purposeFirst[1])}` }
      : splitBenefit(sentence, englishBenefit, subject);
  // A run-on first sentence is cut to a readable length.
  const want = iWant.length > 300 ? iWant.slice(0, 300).replace(/\s+\S*$/, '') : iWant;
  return { asA: '', iWant: want, soThat };
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
  // The story itself, and the quality report and review a rendered story carries: never items.
  if (/^(user )?story$|^story quality$|^review$/.test(normalized)) return 'ignored';
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
  // An acronym is read letter by letter: "an HR admin", "an SEO specialist", "a UX designer".
  if (/^[A-Z]{2,}\b/.test(word)) return /^[AEFHILMNORSX]/.test(word) ? 'an' : 'a';
  return /^[aeiou]/i.test(word) && !/^(us|uni|eu|one)/i.test(word) ? 'an' : 'a';
}

function renderStatement(statement: Statement): string {
  if (statement.asA === '') return `${capitalize(statement.iWant)}.`;
  const benefit = statement.soThat === '' ? '' : `, **so that** ${statement.soThat}`;
  return `**As ${indefiniteArticle(statement.asA)}** ${statement.asA}, **I want** ${statement.iWant}${benefit}.`;
}

/** A Given/When/Then criterion with its keywords in bold, so testers see the three steps at a glance. */
function itemLine(item: StoryItem): string {
  const steps = criterionSteps(item);
  if (!steps) return item.text;
  return `**Given** ${steps.given}, **when** ${steps.when}, **then** ${steps.then}.`;
}

function renderList(items: readonly StoryItem[], checkbox: boolean): string[] {
  return items.map((item) => `- ${checkbox ? '[ ] ' : ''}${itemLine(item)}`);
}

const findingLabels: Record<FindingKind, string> = {
  missing_role: 'Missing role',
  missing_benefit: 'Missing benefit',
  not_atomic: 'More than one feature',
  vague: 'Vague wording',
  not_full_sentence: 'Not a full sentence',
  not_minimal: 'Extra text in the story',
  instruction_like_text: 'Instructions to the AI',
};

function renderFindings(findings: readonly Finding[]): string[] {
  const lines: string[] = [];
  if (findings.some((finding) => finding.kind === 'instruction_like_text')) {
    lines.push(
      '> **Notice:** the story contains text that tries to instruct the AI. It was treated as part of the story, not followed; check the criteria below with that in mind.',
      '',
    );
  }
  for (const finding of findings) {
    lines.push(`- **${findingLabels[finding.kind]}:** ${finding.detail}`);
    if (finding.suggestion !== '') lines.push(`  - Suggested: ${finding.suggestion}`);
    for (const story of finding.split) lines.push(`  - Split: ${story}`);
  }
  return lines;
}

/** Review dimensions as people read them. */
export const reviewDimensionLabels: Record<ReviewDimension, string> = {
  wellFormed: 'Well formed',
  atomic: 'Atomic',
  minimal: 'Minimal',
  unambiguous: 'Unambiguous',
  testableOutcome: 'Testable outcome criteria',
  testableSystem: 'Testable system criteria',
  completeWithoutInvention: 'Complete without invention',
  consistentWithStory: 'Consistent with the story',
};

function renderReview(review: Review): string[] {
  const rounds = review.rounds === 1 ? '1 judge round' : `${review.rounds} judge rounds`;
  return [
    `**Verdict: ${review.verdict}** (overall ${review.overall.toFixed(1)} of 5, ${rounds})`,
    '',
    '| Dimension | Score |',
    '|---|---|',
    ...reviewDimensions.map(
      (dimension) => `| ${reviewDimensionLabels[dimension]} | ${review.scores[dimension]} |`,
    ),
    ...(review.summary === '' ? [] : ['', review.summary]),
    ...(review.issues.length === 0 ? [] : ['']),
    ...review.issues.map((issue) => {
      const items = issue.itemIds.length > 0 ? ` (${issue.itemIds.join(', ')})` : '';
      return `- ${reviewDimensionLabels[issue.dimension]}: ${issue.detail}${items}`;
    }),
  ];
}

/** What a rendered specification reports besides the story: the story's defects and the judge's review. */
export interface QualityReport {
  findings?: readonly Finding[];
  review?: Review;
}

/**
 * Clean markdown for people and for the job's `result.story`: statement, the story's quality findings (with a
 * notice when it tries to instruct the AI), sections with their items, the judge's review, and the original
 * text quoted verbatim at the end. `parseStory` reads it back.
 */
export function renderMarkdown(story: Story, quality: QualityReport = {}): string {
  const out: string[] = [`# ${storyTitle(story)}`, '', renderStatement(story.statement), ''];
  const section = (title: string, lines: string[]): void => {
    if (lines.length === 0) return;
    out.push(`## ${title}`, '', ...lines, '');
  };
  section('Story quality', renderFindings(quality.findings ?? []));
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
  section('Review', quality.review ? renderReview(quality.review) : []);
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
