import { mentionPattern, renameText } from '../backlog-names';
import { allItems, splitSentences, type Story } from '../story';
import type { BacklogEntry, ConsistencyFinding, Relationship, SystemContext } from '../system-analysis';
import type { SystemOutput } from '../system-prompts';
import { determiners, isVerb, nounLikeVerbs, prepositions, singular } from './english';
import { contentWords, quote, similarity } from './pass-rules';
import { checkStory } from './qus-validation';
import { readAction, storyFacts } from './story-facts';

/*
 * The offline engine's system passes over a backlog, read from the stories' text alone: the same backlog
 * always gives the same context, relationships and findings. Terms are compared by a key that ignores case,
 * plural, spacing and hyphens ("E-mail addresses" and "email address" are one term), and a few product
 * synonyms ("basket" and "cart"), so spelling drift between stories is found rather than split into two
 * entities.
 */

type Backlog = readonly BacklogEntry<Story>[];

const synonyms: Readonly<Record<string, string>> = { basket: 'cart', trolley: 'cart' };

/** Words that never start or continue an entity name: pronouns, auxiliaries, adverbs. */
const notNouns = new Set(
  'and or but so that which who whom whose when where while if then than can could will would shall should must may might want wants need needs able be is are was were been being have has had do does did not no also only just very more most less least other same new i me we us you they them it he she again back together later now once too first there here online last next previous'.split(
    ' ',
  ),
);

/** Participles end a name after its first word ("a link sent", but "a saved card"). */
const participle = /^(?:\p{L}+ed|sent|paid|made|given|shown|taken|done|kept|found)$/u;

/** Names too general to tell stories apart. */
const genericTerms = new Set(
  'user system app application way time thing information data feature story ability option list number detail step'.split(
    ' ',
  ),
);

const screenWords = /^(?:page|screen|form|dialog|dialogue|dashboard|view|tab|wizard|modal|menu)$/;

/** A boundary no name or mention crosses: punctuation and numbers. */
const boundary = '|';

/** Lower-case words, with `boundary` where punctuation or a number separates them. */
function tokens(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}][\p{L}'-]*[\p{L}]|[\p{L}]|[^\s\p{L}]+/gu) ?? []).map((token) =>
    /^\p{L}/u.test(token) ? token.replace(/'s$/, '') : boundary,
  );
}

/** What makes two spellings of a term the same term. */
export function termKey(phrase: string): string {
  return tokens(phrase)
    .filter((word) => word !== boundary)
    .map((word) => singular(word))
    .map((word) => synonyms[word] ?? word)
    .join('')
    .replace(/-/g, '');
}

function isNounish(word: string): boolean {
  return (
    word !== boundary &&
    word.length > 2 &&
    !determiners.has(word) &&
    !prepositions.has(word) &&
    !notNouns.has(word) &&
    (!isVerb(word) || nounLikeVerbs.has(word))
  );
}

/** The surface form of a phrase as terms are reported: lower case, each word singular. */
function surface(words: readonly string[]): string {
  return words.map(singular).join(' ');
}

/** Noun phrases after a determiner ("my shopping basket", "the order"), up to three words. */
function nounPhrases(text: string): string[] {
  const words = tokens(text);
  const found: string[] = [];
  words.forEach((word, index) => {
    if (!determiners.has(word)) return;
    const phrase: string[] = [];
    for (let next = index + 1; next < words.length && phrase.length < 3; next += 1) {
      const candidate = words[next] ?? '';
      if (!isNounish(candidate) || (phrase.length > 0 && participle.test(candidate))) break;
      phrase.push(candidate);
    }
    if (phrase.length > 0) found.push(surface(phrase));
  });
  return found;
}

/** Every 1- to 3-word window of a text by its term key, with the spellings found. */
function mentions(text: string): Map<string, string[]> {
  const words = tokens(text);
  const found = new Map<string, string[]>();
  for (let start = 0; start < words.length; start += 1) {
    for (let length = 1; length <= 3 && start + length <= words.length; length += 1) {
      const window = words.slice(start, start + length);
      if (window.includes(boundary)) break;
      const key = termKey(window.join(' '));
      const spelling = surface(window);
      found.set(key, [...(found.get(key) ?? []), spelling]);
    }
  }
  return found;
}

/** Everything a story says: statement, submitted text and every item. */
function storyText(story: Story): string {
  const { asA, iWant, soThat } = story.statement;
  return [asA, iWant, soThat, story.original, ...allItems(story).map((item) => item.text)].join('\n');
}

interface ReadStory {
  id: string;
  story: Story;
  mentions: Map<string, string[]>;
  /** What the wish itself names: a story needs what its wish acts on, not what its benefit mentions. */
  wish: Map<string, string[]>;
  actor: string;
  /** What the story's main action creates (keys): its object, and what it is created with. */
  creates: Set<string>;
}

function readStory(entry: BacklogEntry<Story>): ReadStory {
  const facts = storyFacts(entry.story);
  const creates = new Set<string>();
  if (facts.kind === 'create' && facts.action && facts.action.object !== '') {
    creates.add(termKey(objectName(facts.action.object)));
    // "create an account with my e-mail address and a password": those come into being with it.
    if (/^with\b/i.test(facts.action.rest)) {
      for (const phrase of nounPhrases(facts.action.rest)) creates.add(termKey(phrase));
    }
  }
  return {
    id: entry.id,
    story: entry.story,
    mentions: mentions(storyText(entry.story)),
    wish: mentions(entry.story.statement.iWant),
    actor: surface(tokens(facts.role).filter((word) => word !== boundary)),
    creates,
  };
}

/** "their next appointment" -> "next appointment". */
function objectName(object: string): string {
  return surface(tokens(object).filter((word) => word !== boundary && !determiners.has(word)));
}

interface Term {
  key: string;
  /** Each spelling with how often the backlog uses it, in order of first use. */
  spellings: Map<string, number>;
  storyIds: string[];
}

function addTerm(terms: Map<string, Term>, name: string): void {
  const key = termKey(name);
  if (key === '' || terms.has(key)) return;
  terms.set(key, { key, spellings: new Map(), storyIds: [] });
}

/** Counts where each term appears and how it is spelled there. */
function locate(terms: Map<string, Term>, stories: readonly ReadStory[]): Term[] {
  for (const read of stories) {
    for (const term of terms.values()) {
      const spellings = read.mentions.get(term.key);
      if (!spellings) continue;
      term.storyIds.push(read.id);
      for (const spelling of spellings) term.spellings.set(spelling, (term.spellings.get(spelling) ?? 0) + 1);
    }
  }
  return [...terms.values()].filter((term) => term.storyIds.length > 0);
}

/** The most used spelling; the first one used on a tie. */
function canonicalName(term: Term): string {
  let best = '';
  let count = 0;
  for (const [spelling, used] of term.spellings) {
    if (used > count) {
      best = spelling;
      count = used;
    }
  }
  return best;
}

function byReach(a: Term, b: Term): number {
  return b.storyIds.length - a.storyIds.length || canonicalName(a).localeCompare(canonicalName(b));
}

/** Pass 0: actors, entities, screens and the vocabulary written more than one way. */
export function offlineDiscovery(backlog: Backlog): Partial<SystemOutput> {
  const stories = backlog.map(readStory);
  const actors = new Map<string, Term>();
  const entities = new Map<string, Term>();
  const screens = new Map<string, Term>();
  for (const read of stories) {
    if (read.actor !== '') addTerm(actors, read.actor);
    const text = storyText(read.story);
    const phrases = nounPhrases(text);
    const facts = storyFacts(read.story);
    for (const action of [facts.action, ...facts.features.map((feature) => readAction(feature))]) {
      if (action && action.object !== '') phrases.push(objectName(action.object));
    }
    for (const phrase of phrases) {
      const words = phrase.split(' ');
      const last = words[words.length - 1] ?? '';
      if (screenWords.test(last)) {
        if (words.length > 1) addTerm(screens, phrase);
      } else if (!genericTerms.has(last) && !actors.has(termKey(phrase))) {
        addTerm(entities, phrase);
      }
    }
  }
  for (const key of actors.keys()) entities.delete(key);
  // An entity inside a longer one used by the same stories ("cart" of "shopping cart") is the longer one.
  const entityTerms = locate(entities, stories);
  const kept = entityTerms.filter(
    (term) =>
      !entityTerms.some(
        (other) =>
          other !== term &&
          other.key.length > term.key.length &&
          other.key.endsWith(term.key) &&
          other.storyIds.join() === term.storyIds.join(),
      ),
  );
  const actorTerms = locate(actors, stories);
  const screenTerms = locate(screens, stories);
  const named = (term: Term) => ({ name: canonicalName(term), storyIds: term.storyIds });
  const vocabulary = [...actorTerms, ...kept, ...screenTerms]
    .filter((term) => term.spellings.size > 1)
    .map((term) => {
      const canonical = canonicalName(term);
      return { canonical, variants: [...term.spellings.keys()].filter((spelling) => spelling !== canonical) };
    });
  const context: SystemContext = {
    actors: actorTerms.sort(byReach).map(named),
    entities: kept.sort(byReach).slice(0, 30).map(named),
    screens: screenTerms.sort(byReach).map(named),
    vocabulary,
  };
  return {
    ...context,
    summary: `${context.actors.length} actors, ${context.entities.length} entities, ${context.screens.length} screens; ${vocabulary.length} terms written more than one way.`,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Stated values, for contradictions

interface StatedValue {
  value: number;
  unit: string;
  bound: 'min' | 'max' | '';
  /** The entity the value is about: the last one named before it (key), if any. */
  subject: string | undefined;
}

const unitNames: readonly [RegExp, string][] = [
  [/^(?:%|percent)$/, 'percent'],
  [/^(?:characters?|chars?)$/, 'character'],
  [/^digits?$/, 'digit'],
  [/^(?:seconds?|secs?|s)$/, 'second'],
  [/^(?:minutes?|mins?)$/, 'minute'],
  [/^(?:hours?|h)$/, 'hour'],
  [/^days?$/, 'day'],
  [/^weeks?$/, 'week'],
  [/^months?$/, 'month'],
  [/^years?$/, 'year'],
  [/^(?:attempts?|tries|times)$/, 'attempt'],
  [/^items?$/, 'item'],
  [/^(?:€|eur|euros?)$/, 'eur'],
  [/^(?:\$|usd|dollars?)$/, 'usd'],
  [/^(?:£|gbp|pounds?)$/, 'gbp'],
  [/^(?:mb|megabytes?)$/, 'mb'],
  [/^(?:kb|kilobytes?)$/, 'kb'],
  [/^(?:gb|gigabytes?)$/, 'gb'],
];

const valuePattern =
  /(?:(at least|minimum of|min\.?|more than|over|above|at most|up to|maximum of|max\.?|within|less than|under|below|no more than)\s+)?([€$£])?\s?(\d+(?:[.,]\d+)?)\s*(%|[a-z€$£]+)?/gi;

/** The last entity (by key) named in `text`. */
function lastEntity(text: string, entityKeys: ReadonlySet<string>): string | undefined {
  const words = tokens(text);
  let found: string | undefined;
  for (let start = 0; start < words.length; start += 1) {
    for (let length = 3; length >= 1; length -= 1) {
      const window = words.slice(start, start + length);
      if (window.length < length || window.includes(boundary)) continue;
      const key = termKey(window.join(' '));
      if (entityKeys.has(key)) {
        found = key;
        break;
      }
    }
  }
  return found;
}

function statedValues(text: string, entityKeys: ReadonlySet<string>): StatedValue[] {
  const values: StatedValue[] = [];
  for (const match of text.matchAll(valuePattern)) {
    const unitWord = (match[2] ?? match[4] ?? '').toLowerCase();
    const unit = unitNames.find(([pattern]) => pattern.test(unitWord))?.[1];
    if (!unit) continue;
    const boundWord = (match[1] ?? '').toLowerCase();
    const bound = /least|minimum|min|more|over|above/.test(boundWord) ? 'min' : boundWord === '' ? '' : 'max';
    values.push({
      value: Number((match[3] ?? '0').replace(',', '.')),
      unit,
      bound,
      subject: lastEntity(text.slice(0, match.index), entityKeys),
    });
  }
  return values;
}

interface Statement {
  storyId: string;
  itemId: string;
  text: string;
}

/** The items of a story, and the sentences of its submitted text under the id `original`. */
function statements(entry: BacklogEntry<Story>): Statement[] {
  const items = allItems(entry.story).map((item) => ({
    storyId: entry.id,
    itemId: item.id,
    text: item.text,
  }));
  const original = splitSentences(entry.story.original).map((span) => ({
    storyId: entry.id,
    itemId: 'original',
    text: span.text,
  }));
  return [...items, ...original];
}

interface Contradiction {
  a: Statement;
  b: Statement;
  valueA: StatedValue;
  valueB: StatedValue;
}

/** Statements of two different stories that give the same entity different bounds in the same unit. */
function contradictions(backlog: Backlog, context: SystemContext): Contradiction[] {
  const entityKeys = new Set(context.entities.map((entity) => termKey(entity.name)));
  const all = backlog.flatMap(statements).map((statement) => ({
    statement,
    values: statedValues(statement.text, entityKeys),
  }));
  const found: Contradiction[] = [];
  const seen = new Set<string>();
  all.forEach((left, index) => {
    for (const right of all.slice(index + 1)) {
      if (left.statement.storyId === right.statement.storyId) continue;
      for (const valueA of left.values) {
        const valueB = right.values.find(
          (candidate) =>
            candidate.subject !== undefined &&
            candidate.subject === valueA.subject &&
            candidate.unit === valueA.unit &&
            candidate.bound === valueA.bound &&
            candidate.value !== valueA.value,
        );
        if (!valueB) continue;
        const key = [
          left.statement.storyId,
          right.statement.storyId,
          valueA.subject,
          valueA.value,
          valueB.value,
        ].join();
        if (seen.has(key)) continue;
        seen.add(key);
        found.push({ a: left.statement, b: right.statement, valueA, valueB });
      }
    }
  });
  return found;
}

// ---------------------------------------------------------------------------------------------------------
// Pass 2: relationships

function pairs<T>(list: readonly T[]): [T, T][] {
  return list.flatMap((left, index) => list.slice(index + 1).map((right): [T, T] => [left, right]));
}

/** Stories asking for the same thing: their wishes use nearly the same words. */
function duplicatePairs(
  backlog: Backlog,
  context: SystemContext,
): { a: BacklogEntry<Story>; b: BacklogEntry<Story>; score: number }[] {
  return pairs(backlog)
    .map(([a, b]) => ({
      a,
      b,
      score: similarity(
        contentWords(renameText(a.story.statement.iWant, context.vocabulary)),
        contentWords(renameText(b.story.statement.iWant, context.vocabulary)),
      ),
    }))
    .filter((pair) => pair.score >= 0.6);
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/** Pass 2: depends-on, shares-entity, duplicates and conflicts between stories, each with a confidence. */
export function offlineInterconnection(backlog: Backlog, context: SystemContext): Partial<SystemOutput> {
  const stories = backlog.map(readStory);
  const relationships: Relationship[] = [];
  const entityKeys = new Map(context.entities.map((entity) => [termKey(entity.name), entity.name]));
  for (const [a, b] of pairs(stories)) {
    const shared = [...entityKeys.keys()].filter((key) => a.mentions.has(key) && b.mentions.has(key));
    if (shared.length > 0) {
      const names = shared.map((key) => `"${entityKeys.get(key) ?? key}"`).join(', ');
      relationships.push({
        from: a.id,
        to: b.id,
        kind: 'shares-entity',
        confidence: round2(Math.min(0.9, 0.6 + 0.1 * (shared.length - 1))),
        reason: `Both act on ${names}.`,
      });
    }
    for (const [needs, provides] of [
      [b, a],
      [a, b],
    ] as const) {
      const needed = [...provides.creates].find(
        (key) => entityKeys.has(key) && needs.wish.has(key) && !needs.creates.has(key),
      );
      if (needed === undefined) continue;
      relationships.push({
        from: needs.id,
        to: provides.id,
        kind: 'depends-on',
        confidence: 0.75,
        reason: `${needs.id} acts on "${entityKeys.get(needed) ?? needed}", which ${provides.id} creates (${quote(provides.story.statement.iWant)}).`,
      });
    }
  }
  for (const pair of duplicatePairs(backlog, context)) {
    relationships.push({
      from: pair.b.id,
      to: pair.a.id,
      kind: 'duplicates',
      confidence: round2(pair.score),
      reason: `Both ask for ${quote(pair.a.story.statement.iWant)} and ${quote(pair.b.story.statement.iWant)}.`,
    });
  }
  const conflicting = new Set<string>();
  for (const found of contradictions(backlog, context)) {
    const key = `${found.a.storyId}|${found.b.storyId}`;
    if (conflicting.has(key)) continue;
    conflicting.add(key);
    relationships.push({
      from: found.b.storyId,
      to: found.a.storyId,
      kind: 'conflicts',
      confidence: 0.7,
      reason: `${quote(found.a.text)} and ${quote(found.b.text)} state different values.`,
    });
  }
  return {
    relationships,
    summary: `${relationships.length} relationships between ${backlog.length} stories.`,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Pass 3: consistency

function vocabularyDrift(backlog: Backlog, context: SystemContext): ConsistencyFinding[] {
  return context.vocabulary.flatMap((term) => {
    const patterns = term.variants.map(mentionPattern);
    const items = backlog.flatMap((entry) =>
      allItems(entry.story)
        .filter((item) => patterns.some((pattern) => pattern.test(item.text)))
        .map((item) => ({ storyId: entry.id, itemId: item.id })),
    );
    const storyIds = backlog
      .filter((entry) => patterns.some((pattern) => pattern.test(storyText(entry.story))))
      .map((entry) => entry.id);
    if (storyIds.length === 0) return [];
    return [
      {
        kind: 'vocabulary-drift' as const,
        detail: `"${term.canonical}" is also written ${term.variants.map((variant) => `"${variant}"`).join(', ')}.`,
        suggestion: `Use "${term.canonical}" in every story.`,
        storyIds,
        items: items.slice(0, 20),
      },
    ];
  });
}

function duplicateCriteria(backlog: Backlog, context: SystemContext): ConsistencyFinding[] {
  const criteria = backlog.flatMap((entry) =>
    [...entry.story.outcomeCriteria, ...entry.story.systemCriteria].map((item) => ({
      storyId: entry.id,
      item,
      words: contentWords(renameText(item.text, context.vocabulary)),
    })),
  );
  const found: ConsistencyFinding[] = [];
  criteria.forEach((left, index) => {
    for (const right of criteria.slice(index + 1)) {
      if (left.storyId === right.storyId || similarity(left.words, right.words) < 0.75) continue;
      found.push({
        kind: 'duplicate-criteria',
        detail: `${left.storyId} and ${right.storyId} check the same behaviour: ${quote(left.item.text)}.`,
        suggestion: `Keep the criterion in ${left.storyId} and reference it from ${right.storyId}.`,
        storyIds: [left.storyId, right.storyId],
        items: [
          { storyId: left.storyId, itemId: left.item.id },
          { storyId: right.storyId, itemId: right.item.id },
        ],
      });
    }
  });
  return found;
}

/** Pass 3: contradictions, duplicate criteria, vocabulary drift, stories to merge or split. */
export function offlineConsistency(backlog: Backlog, context: SystemContext): Partial<SystemOutput> {
  const findings: ConsistencyFinding[] = [
    ...contradictions(backlog, context).map(({ a, b, valueA, valueB }) => ({
      kind: 'contradiction' as const,
      detail: `${a.storyId} says ${quote(a.text)} but ${b.storyId} says ${quote(b.text)} (${valueA.value} vs ${valueB.value} ${valueA.unit}).`,
      suggestion: 'Agree on one value and state it the same way in both stories.',
      storyIds: [a.storyId, b.storyId],
      items: [
        { storyId: a.storyId, itemId: a.itemId },
        { storyId: b.storyId, itemId: b.itemId },
      ],
    })),
    ...duplicateCriteria(backlog, context),
    ...vocabularyDrift(backlog, context),
    ...duplicatePairs(backlog, context).map(({ a, b }) => ({
      kind: 'merge-stories' as const,
      detail: `${a.id} and ${b.id} ask for the same thing: ${quote(a.story.statement.iWant)}.`,
      suggestion: `Merge ${b.id} into ${a.id}.`,
      storyIds: [a.id, b.id],
      items: [],
    })),
    ...backlog.flatMap((entry) => {
      const bundled = checkStory(entry.story).findings.find((finding) => finding.kind === 'not_atomic');
      if (!bundled) return [];
      return [
        {
          kind: 'split-story' as const,
          detail: `${entry.id} bundles several features: ${bundled.detail}`,
          suggestion:
            bundled.split.length > 0 ? `Split it into: ${bundled.split.join(' | ')}` : bundled.suggestion,
          storyIds: [entry.id],
          items: [],
        },
      ];
    }),
  ];
  return { findings, summary: `${findings.length} consistency findings across ${backlog.length} stories.` };
}
