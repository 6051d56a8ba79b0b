import type { Story } from '../story';

/**
 * What the offline engine knows about a story: its actor, actions, objects and benefit, extracted with small
 * word lists rather than a language model. Good enough to write criteria that name the story's own things.
 */
export interface StoryFacts {
  /** Head of the role, e.g. "shopper" from "shopper on the iOS or Android app". */
  role: string;
  /** Verbs of the first feature, e.g. ["book", "move", "cancel"]. */
  verbs: string[];
  /** The main object phrase, e.g. "appointment" or "email and password". */
  object: string;
  /** The preposition between verb and object when there is no direct object ("pay for the basket"). */
  objectPreposition: string;
  /** The "I want" clause in the third person ("... with their general practitioner online"). */
  goal: string;
  /** The "so that" clause in the third person; empty when missing. */
  benefit: string;
  /** One entry per independent feature ("invite colleagues", "give role"). */
  features: string[];
  vagueTerms: string[];
  /** Roles listed in the story besides the main one, e.g. viewer, editor, admin. */
  otherRoles: string[];
  languages: string[];
  places: string[];
  /** Text such as "less than a minute" that already states a measurable target. */
  timeTarget: string;
  hasStatement: boolean;
  mentions: ReadonlySet<Topic>;
}

const topics = [
  'money',
  'payment',
  'credentials',
  'passwordReset',
  'upload',
  'schedule',
  'search',
  'export',
  'webhook',
  'invitation',
  'screenReader',
  'injection',
] as const;
/** Subjects that call for their own criteria (a transfer needs limits, an upload needs file checks...). */
export type Topic = (typeof topics)[number];

const topicPatterns: Record<Topic, RegExp> = {
  money: /\b(money|transfer|pay|payment|card|balance|amount|price|invoice|refund|points|basket)\b/i,
  payment: /\b(pay|payment|card|apple pay|google pay|checkout)\b/i,
  credentials: /\b(log ?in|sign in|password|email)\b/i,
  passwordReset: /\b(forgot|reset)\b[^.\n]{0,80}\bpassword\b|\bpassword\b[^.\n]{0,80}\breset\b/i,
  upload: /\b(upload|photo|image|picture|camera|gallery|attachment)\b/i,
  schedule: /\b(appointment|booking|book|schedule|slot|opening hours|calendar)\b/i,
  search: /\b(search|filter|keyword|find)\b/i,
  export: /\b(export|csv|pdf|download|report|reports)\b/i,
  webhook: /\b(webhook|endpoint|api|event)\b/i,
  invitation: /\b(invite|invitation|colleague|colleagues)\b/i,
  screenReader: /\bscreen[- ]?readers?\b/i,
  injection: /\b(ignore|disregard|forget)\b[^.\n]{0,40}\b(instructions|prompt|rules)\b|\bsystem prompt\b/i,
};

const verbs = new Set(
  `add access accept apply approve archive assign attach back block book browse buy call cancel change chat check choose claim close comment compare configure confirm connect contact copy create crop decline delete deposit disable display download duplicate edit enable export filter find follow generate get give hide import invite join leave like link list log manage merge message move notify open order pause pay pick play post preview print publish rate read receive record recover redeem refund register reject remove rename reorder report request reschedule reset restore resume return review save scan schedule search see select send set share show sign sort split store submit subscribe switch sync tag top track transfer translate unlock unsubscribe update upload verify view vote watch withdraw write`.split(
    ' ',
  ),
);
const particles = new Set(['in', 'out', 'up', 'on', 'off']);
const particleVerbs = new Set(['log', 'sign', 'check', 'opt', 'top', 'set', 'back', 'pick']);
const determiners = new Set(
  'a an the my our their your his her its all each every another some any this these those one'.split(' '),
);
const prepositions = new Set(
  'to from with by of for in on at into onto via through without within about over under between after before during per as'.split(
    ' ',
  ),
);
/** Words that end the part of a clause we read: relative clauses and subjects add noise, not objects. */
const clauseStops = new Set('that which who whenever when where while because if i we so'.split(' '));
const skipWords = new Set(
  'be able also online offline quickly easily again automatically then should must can could will would may might let them it is are'.split(
    ' ',
  ),
);
const verbTriggers = new Set([
  ',',
  'and',
  'or',
  '/',
  'then',
  'to',
  'also',
  'them',
  'should',
  'must',
  'can',
  'will',
]);
const pronounObjects = new Set(['it', 'them', 'this', 'that']);

const vagueWords = [
  'fast',
  'quick',
  'quickly',
  'user-friendly',
  'user friendly',
  'intuitive',
  'easy',
  'easily',
  'simple',
  'seamless',
  'seamlessly',
  'everything',
  'robust',
  'efficient',
  'modern',
  'nice',
  'flexible',
  'etc',
  'as needed',
  'appropriate',
];
const knownRoles = [
  'manager',
  'administrator',
  'admin',
  'customer',
  'visitor',
  'member',
  'owner',
  'editor',
  'viewer',
  'operator',
  'partner',
  'patient',
  'employee',
  'user',
];
const languageNames = [
  'English',
  'French',
  'Dutch',
  'German',
  'Spanish',
  'Italian',
  'Portuguese',
  'Arabic',
  'Hebrew',
  'Chinese',
  'Japanese',
  'Polish',
];
const placeNames = [
  'Belgium',
  'the Netherlands',
  'Quebec',
  'Canada',
  'France',
  'Germany',
  'Spain',
  'Italy',
  'the United States',
  'the UK',
  'Switzerland',
  'Luxembourg',
];

interface Group {
  verbs: string[];
  direct: string[];
  /** Prepositional objects, grouped by the preposition that introduced them. */
  indirect: { preposition: string; phrases: string[] }[];
}

function tokenize(text: string): string[] {
  return text.replace(/\([^)]*\)/g, ' ').match(/[A-Za-z][A-Za-z'’-]*|\d+|[,/;.]/g) ?? [];
}

/** Keeps acronyms such as URL or CSV, lower-cases ordinary words. */
function wordForm(token: string): string {
  return /^[A-Z0-9]{2,}$/.test(token) ? token : token.toLowerCase();
}

/**
 * Splits a clause into verb groups with their direct and prepositional objects. With `firstIsVerb` the clause
 * is an "I want" clause, whose first word is a verb even when the word list does not know it.
 */
function readGroups(text: string, firstIsVerb: boolean): { groups: Group[]; subject: string[] } {
  const tokens = tokenize(text);
  const groups: Group[] = [];
  const subject: string[] = [];
  let phrase: string[] = [];
  let afterPreposition = false;
  let previous = '';
  const current = (): Group | undefined => groups[groups.length - 1];
  const endPhrase = (): void => {
    const target = current();
    const text = phrase.join(' ');
    phrase = [];
    if (text === '') return;
    if (!target) subject.push(text);
    else if (!afterPreposition) target.direct.push(text);
    else target.indirect.at(-1)?.phrases.push(text);
  };
  for (let index = 0; index < tokens.length; index += 1) {
    const original = tokens[index] ?? '';
    const token = original.toLowerCase();
    const startsVerb =
      (index === 0 && firstIsVerb) || (verbs.has(token) && (index === 0 || verbTriggers.has(previous)));
    if (startsVerb && token !== 'to') {
      endPhrase();
      let verb = token;
      const next = tokens[index + 1] ?? '';
      if (particleVerbs.has(token) && particles.has(next.toLowerCase())) {
        verb = `${token} ${next.toLowerCase()}`;
        index += 1;
      }
      const group = current();
      if (group && group.direct.length + group.indirect.length === 0) group.verbs.push(verb);
      else groups.push({ verbs: [verb], direct: [], indirect: [] });
      afterPreposition = false;
    } else if (clauseStops.has(token) || token === '.' || token === ';') {
      endPhrase();
      if (groups.length > 0 || token === '.') break;
    } else if (pronounObjects.has(token) && groups.length > 0 && phrase.length === 0) {
      current()?.direct.push(token);
    } else if (prepositions.has(token)) {
      endPhrase();
      if (groups.length > 0) current()?.indirect.push({ preposition: token, phrases: [] });
      afterPreposition = groups.length > 0;
    } else if (token === ',' || token === 'and' || token === 'or' || token === '/') {
      endPhrase();
    } else if (determiners.has(token) || skipWords.has(token)) {
      endPhrase();
    } else {
      phrase.push(wordForm(original));
    }
    previous = token;
  }
  endPhrase();
  return { groups, subject };
}

function toThirdPerson(text: string): string {
  return text
    .replace(/\bI am\b/g, 'they are')
    .replace(/\bI was\b/g, 'they were')
    .replace(/\bI'm\b/g, "they're")
    .replace(/\bI\b/g, 'they')
    .replace(/\bmy\b/gi, 'their')
    .replace(/\bmine\b/gi, 'theirs')
    .replace(/\bmyself\b/gi, 'themselves')
    .replace(/\bme\b/gi, 'them')
    .replace(/\bour\b/gi, 'their')
    .replace(/\bwe\b/gi, 'they')
    .replace(/\bus\b/g, 'them')
    .replace(/[.!]+$/, '')
    .trim();
}

function roleHead(asA: string): { head: string; tail: string } {
  const match = /^(.*?)(?:\s+(?:who|that|on|using|with|in|from|at)\b(.*)|,(.*))?$/i.exec(asA.trim());
  const head = (match?.[1] ?? asA).replace(/^(a|an|the)\s+/i, '').trim();
  return { head: head.toLowerCase(), tail: match?.[2] ?? match?.[3] ?? '' };
}

function findAll(text: string, names: readonly string[]): string[] {
  return names.filter((name) => new RegExp(`\\b${name.replace(/\s+/g, '\\s+')}\\b`, 'i').test(text));
}

/** Extracts the facts the offline rules work with. Deterministic: the same story gives the same facts. */
export function storyFacts(story: Story): StoryFacts {
  const text = story.original;
  const hasStatement = story.statement.asA !== '';
  const { head: statedRole, tail: roleTail } = roleHead(story.statement.asA);
  const fallbackRole = knownRoles.find((role) => new RegExp(`\\b${role}s?\\b`, 'i').test(text)) ?? 'user';
  const role = statedRole || fallbackRole;

  const want = story.statement.iWant.replace(/^(?:to\s+)?(?:be able to\s+)?/i, '');
  const { groups, subject } = readGroups(want, hasStatement);
  const first = groups[0];
  const pronounTarget =
    readGroups(roleTail, false).subject.at(-1) ?? readGroups(roleTail, true).groups[0]?.direct[0];
  const resolve = (object: string): string =>
    pronounObjects.has(object) ? (pronounTarget ?? subject[0] ?? 'request') : object;
  const direct = (first?.direct ?? []).map(resolve);
  const firstIndirect = first?.indirect.find((group) => group.phrases.length > 0);
  const statedObject = joinList(direct.length > 0 ? direct : (firstIndirect?.phrases ?? []), 'and');
  const object = (hasStatement ? statedObject : subject[0] || statedObject) || 'request';
  const features = groups
    .filter((group, index) => index === 0 || group.direct.length > 0)
    .map((group) =>
      `${joinList(group.verbs, 'or')} ${group.direct.map(resolve)[0] ?? group.indirect.flatMap((g) => g.phrases)[0] ?? ''}`.trim(),
    );
  const allVerbs = hasStatement ? (first?.verbs ?? []) : groups.map((group) => group.verbs[0] ?? '');
  const stated = toThirdPerson(want);
  const goal = !hasStatement
    ? joinList(features, 'and')
    : first?.direct[0] !== undefined && pronounObjects.has(first.direct[0])
      ? stated.replace(new RegExp(`\\b${first.direct[0]}\\b`), `the ${object}`)
      : stated;

  const lower = text.toLowerCase();
  const mentions = new Set(topics.filter((topic) => topicPatterns[topic].test(text)));
  const otherRoles = /\brole[s]?\s*\(([^)]*)\)/i.exec(text)?.[1]?.split(/\s*,\s*|\s+or\s+|\s+and\s+/) ?? [];

  return {
    role,
    verbs: allVerbs.length > 0 ? allVerbs : ['use'],
    object,
    objectPreposition: hasStatement && direct.length === 0 && firstIndirect ? firstIndirect.preposition : '',
    goal: goal || `use the ${object}`,
    benefit: toThirdPerson(story.statement.soThat),
    features,
    vagueTerms: vagueWords.filter((word) => new RegExp(`(^|[^a-z-])${word}([^a-z-]|$)`).test(lower)),
    otherRoles: otherRoles.map((name) => name.trim()).filter((name) => name !== ''),
    languages: findAll(text, languageNames),
    places: findAll(text, placeNames),
    timeTarget:
      /\b(?:less than|under|within|at most) (?:a|an|one|\d+) (?:second|minute|hour)s?\b/i.exec(text)?.[0] ??
      '',
    hasStatement,
    mentions,
  };
}

/** "a", "a or b", "a, b or c". */
export function joinList(items: readonly string[], conjunction: 'and' | 'or'): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1] ?? ''}`;
}
