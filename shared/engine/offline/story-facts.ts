import type { ProductType } from '../catalog';
import type { Story } from '../story';
import { determiners, isIrregularParticiple, isVerb, particleAfter, prepositions, singular } from './english';
import { detectLanguage, type StoryLanguage } from './language';
import { actionsOf, actorWish, analysisChars, thirdPersonText } from './qus-validation';

/** The story's main action, when the offline engine understood it. */
export interface Action {
  /** Base form, with its particle: "transfer", "log in". */
  verb: string;
  /** The direct object as written, third person: "money", "their parcel"; "" when there is none. */
  object: string;
  /** What follows the object: "to another account". */
  rest: string;
  /** The whole action, third person: "transfer money to another account". */
  phrase: string;
  /** A condition the action is allowed under, as written: "as long as it has not shipped". */
  condition?: string;
  /**
   * The actor's own circumstance the action is meant for, third person: "when they are injured". Nothing in
   * the system knows it, so it is a question, not a check.
   */
  circumstance?: string;
  /** The device's state the action must work in, third person: "their phone is locked". */
  deviceState?: string;
  /**
   * Someone else's act that makes the action possible, third person, without its connector: "their doctor
   * releases them" of "as soon as their doctor releases them".
   */
  trigger?: string;
}

/** What kind of thing an action does: decides which generic criteria make sense for it. */
export type ActionKind = 'view' | 'create' | 'change' | 'remove' | 'send' | 'get' | 'access';

/**
 * How a stated number is bounded, from the words before it: a limit ("up to 5 photos", "bis zu 500 €"), a
 * minimum ("at least 8 characters"), a threshold that triggers something ("over €1,000", "below 20%"), or
 * a plain value ("a €50 deposit").
 */
export type Comparison = 'atMost' | 'atLeast' | 'above' | 'below' | 'exactly' | '';

/** A value the story states: each becomes a criterion that checks it. */
export interface StatedFact {
  kind:
    | 'duration'
    | 'amount'
    | 'size'
    | 'count'
    | 'rate'
    | 'percentage'
    | 'format'
    | 'header'
    | 'status'
    | 'timeOfDay'
    | 'deadline'
    | 'schedule'
    | 'range'
    | 'options';
  /** The words as the story has them: "24 hours before each booking", "CSV", "Retry-After". */
  text: string;
  /** The number and unit without the bounding words: "500 €" of "über 500 €"; `text` for other facts. */
  value: string;
  comparison: Comparison;
  /** For options: the listed values ("viewer", "editor", "admin"); for a range: its two ends ("1", "5"). */
  values: string[];
  /** What the options qualify ("role", "filter"); "" otherwise. */
  about: string;
}

/** What the offline engine read from a story. Deterministic: the same story gives the same facts. */
export interface StoryFacts {
  language: StoryLanguage;
  english: boolean;
  productType: ProductType;
  /**
   * Who does or gets what the story asks for: its role as written ("bank customer"), or the people it wants
   * something for ("guest" in "I want guests to get the door code"); "" when the story names none.
   */
  role: string;
  /** How sentences name the actor: "the bank customer", or "the user" without a role. */
  actor: string;
  /** The main action; undefined when its verb is not one the engine knows. */
  action: Action | undefined;
  kind: ActionKind | undefined;
  /** Every action of a compound story ("search the catalogue by keyword", ...). */
  features: string[];
  /** The action of each further feature (`features[1]` on), phrased like `action`; undefined where none was read. */
  featureActions: (Action | undefined)[];
  /** The benefit in the third person; "" when missing. */
  benefit: string;
  /** Someone other than the actor who gains from the story ("the landlord" in "so that the landlord can ..."). */
  beneficiary: { who: string; gains: string } | undefined;
  /** The story acts on the actor's own things ("my parcel"). */
  owned: boolean;
  /** The story reaches other people or their things ("another account", "with a client"). */
  reachesOthers: boolean;
  /** No account is involved: a visitor, guest or passer-by. */
  anonymous: boolean;
  /**
   * What the system sends the actor when the story is about being told rather than doing ("receive an alert",
   * "get a reminder"): its noun, "alert". The actor does not act, so there is nothing to sign in for or to
   * attempt; the question is who gets it. Undefined for other stories.
   */
  received: string | undefined;
  /** Statement plus notes, lower-cased: what domain packs and conditions match against. */
  text: string;
  /** The wish and the role, lower-cased: what decides the story's domain. */
  subject: string;
  /** The core of the wish, lower-cased: its verb and object ("send a reminder email"). */
  core: string;
  facts: StatedFact[];
  languages: string[];
  places: string[];
}

const actionKinds: Record<ActionKind, readonly string[]> = {
  view: 'see view browse track check read watch compare find search look display page filter sort monitor preview inspect diagnose zoom predict'.split(
    ' ',
  ),
  create:
    'add create list report register submit record post request book reserve schedule attach upload save rate review comment write mark enrol enroll apply draft import collect sign bookmark favourite favorite upvote downvote transcribe summarise summarize compile prepare nominate rebook hold clone build define make'.split(
      ' ',
    ),
  change:
    'finish complete merge combine grade score edit update change freeze unfreeze rename move reschedule renew rotate reset set assign give approve reject pause resume enable disable switch configure verify confirm scan tag label link pin reorder extend upgrade restore reactivate restock refill settle escalate triage assess evaluate endorse certify delegate acknowledge unarchive unblock publish unpublish unmute subscribe avoid exclude snooze prefer reopen resize override match split choose select pick turn dispute contest appeal discharge'.split(
      ' ',
    ),
  remove:
    'delete remove cancel withdraw revoke unsubscribe archive deactivate suspend block erase close purge wipe unfollow'.split(
      ' ',
    ),
  send: 'send share invite notify transfer pay forward email ask push message refer refund buy order purchase sell trade deposit reimburse prescribe dispense warn'.split(
    ' ',
  ),
  get: 'download export print receive get generate fetch redeem claim'.split(' '),
  access: 'log access open join unlock enter'.split(' '),
};

/** What kind of thing a verb does; undefined for verbs outside the lists. */
export function kindOf(verb: string): ActionKind | undefined {
  const head = verb.split(' ')[0] ?? '';
  if (verb === 'check in' || verb === 'sign in' || verb === 'log in' || verb === 'sign up') return 'access';
  return (Object.keys(actionKinds) as ActionKind[]).find((kind) => actionKinds[kind].includes(head));
}

/** "list all orders", "list my invoices" look things up; "list my bike for sale" creates a listing. */
export function actionKindOf(action: Action): ActionKind | undefined {
  // "leave feedback" writes something; "leave the team" is leaving.
  if (action.verb === 'leave')
    return /\b(?:feedback|comments?|reviews?|notes?|messages?|ratings?|replies|reply|tips?)\b/i.test(
      action.object,
    )
      ? 'create'
      : 'remove';
  // "log my fuel purchases" records them; "log in" and "log out" are access.
  if (action.verb === 'log') return 'create';
  // "sign up for shifts" takes a place, like booking one; "sign up" alone, or for an account, opens an account.
  if (action.verb === 'sign up' && /^for\s+(?!(?:an?\s+|their\s+)?account\b)\S/i.test(action.rest))
    return 'create';
  if (
    action.verb === 'list' &&
    /^(?:(?:all|every)\b|(?:(?:the|my|their)\s+)?[\p{L}-]+s\b)/iu.test(action.object)
  )
    return 'view';
  return kindOf(action.verb);
}

/** Words that end a direct object: clauses, and adverbs of manner or place ("renew my passport online"). */
const stopAfterObject = new Set([
  'online',
  'offline',
  'remotely',
  'automatically',
  'manually',
  'instantly',
  'immediately',
  'directly',
  'again',
  'later',
  'together',
  'that',
  'which',
  'who',
  'whenever',
  'when',
  'where',
  'while',
  'because',
  'if',
  'so',
  'and',
  'or',
]);

/** Reads the first action of a wish: a known verb, its direct object and the rest of the clause. */
export function readAction(wish: string): Action | undefined {
  // Vague adverbs are the story's defect (validation reports them); criteria must not repeat them.
  const text = wish
    .replace(/\([^)]*\)|\[[^\]]*\]/g, ' ')
    .replace(
      /\b(?:(?:much|more|a lot|way|far|even|very|really|super)\s+)*(?:easily|quickly|instantly|simply|seamlessly|intuitively|efficiently|faster|better|etc\.?|and so on)(?=[\s,.;]|$)/gi,
      ' ',
    )
    // "with an idempotency key": how a request is made safe to retry, with a criterion of its own.
    .replace(/\s*\bwith (?:an|a|the) idempotency key\b/gi, ' ')
    // "list my orders page by page", "cancel at any time", "finish it later": how or when, not what.
    .replace(
      /\b(?:page by page|one by one|step by step|one at a time|in one go|at any time|anytime|whenever (?:I|we|they) (?:want|like|need)|later(?= *$))\b/gi,
      ' ',
    )
    .replace(/^\s*(?:to\s+)?(?:be able to\s+)?/i, '')
    // "bulk import", "batch delete": how many at once, not a different action.
    .replace(/^(?:bulk|batch|mass)[\s-]+(?=[a-z])/i, '')
    .replace(/[.!?]+$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  // "make sure every backup is encrypted" states a property, not an action of the actor.
  if (/^(?:make sure|make certain)\b/i.test(text)) return undefined;
  const words = text.split(' ');
  const first = (words[0] ?? '').toLowerCase().replace(/[,;:]$/, '');
  if (!isVerb(first)) return undefined;
  // "search to be faster", "page to load": a noun that should do something, not an action of the actor.
  const second = (words[1] ?? '').toLowerCase();
  const third = (words[2] ?? '').toLowerCase();
  if (second === 'to' && (third === 'be' || isVerb(third))) return undefined;
  const particle = particleAfter(first, words[1]);
  const verb = particle === '' ? first : `${first} ${particle}`;
  // "assign them the Editor role": the indirect object is not part of what is acted on.
  const indirect =
    /^(?:me|us|them|him|her|you)$/i.test(words[particle === '' ? 1 : 2] ?? '') &&
    determiners.has((words[particle === '' ? 2 : 3] ?? '').toLowerCase());
  const start = (particle === '' ? 1 : 2) + (indirect ? 1 : 0);
  let end = start;
  // "see which products are low on stock": the question clause is what is seen, up to the purpose ("choose
  // which events ..." keeps its choice).
  const questionClause =
    /^(?:which|what|how|who|whether|where)$/i.test(words[start] ?? '') &&
    (kindOf(verb) === 'view' || kindOf(verb) === 'get');
  if (questionClause) {
    end = words.findIndex((word, index) => index > start && /^(?:so|because)$/i.test(word));
    if (end < 0) end = words.length;
  }
  while (!questionClause && end < words.length) {
    const word = (words[end] ?? '').toLowerCase().replace(/[,;]$/, '');
    if (prepositions.has(word) || stopAfterObject.has(word)) break;
    // "appointments grouped by doctor": a participle before its preposition describes the object.
    const next = (words[end + 1] ?? '').toLowerCase();
    if (end > start && (/^\p{L}+ed$/u.test(word) || isIrregularParticiple(word)) && prepositions.has(next))
      break;
    // "a spin class up to 7 days ahead": the bound is a stated value, not part of the object.
    const ahead = words.slice(end, end + 4).join(' ');
    const named = words.slice(start, end).some((part) => !determiners.has(part.toLowerCase()));
    if (named && comparisonOpening.test(ahead) && /\d/.test(ahead)) break;
    // "a reminder 24 hours before their appointment": the moment is not part of the object.
    if (named && relativeMoment.test(ahead)) break;
    end += 1;
    if (/[,;]$/.test(words[end - 1] ?? '')) break;
  }
  const object = thirdPersonText(words.slice(start, end).join(' ').replace(/[,;]$/, ''));
  if (object !== '' && determiners.has(object.toLowerCase())) return undefined;
  const rest = thirdPersonText(words.slice(end).join(' ')).replace(/^[,;]\s*/, '');
  // "..., as long as it has not shipped": the condition gets a criterion of its own (`condition`), and the
  // phrase every criterion repeats stops before it.
  const condition = conditionClause.exec(rest);
  const circumstance = condition ? undefined : circumstanceClause.exec(rest);
  const device = condition || circumstance ? undefined : deviceStateClause.exec(rest);
  const trigger = condition || circumstance || device ? undefined : triggerClause.exec(rest);
  const clause = condition ?? circumstance ?? device ?? trigger;
  const phraseRest = clause ? rest.slice(0, clause.index).replace(/[,;\s]+$/, '') : rest;
  const clauseText = clause?.[1]?.replace(/[.\s]+$/, '');
  return {
    verb,
    object,
    rest,
    phrase: [verb, object, phraseRest].filter((part) => part !== '').join(' '),
    ...(condition && clauseText ? { condition: clauseText } : {}),
    ...(circumstance && clauseText ? { circumstance: clauseText } : {}),
    ...(device?.[2] ? { deviceState: device[2] } : {}),
    ...(trigger?.[2] ? { trigger: trigger[2].replace(/[.\s]+$/, '') } : {}),
  };
}

/** "as soon as their doctor releases them", "once the order ships": another's act the action waits for. */
const triggerClause =
  /(?:^|[,;]?\s+)((?:as soon as|the moment|once|right after|immediately after)\s+((?:their|the|a|an|its|our)\s+[^,;]+))/i;

/** "24 hours before ...", "2 days after ...": a moment set by another event. */
const relativeMoment =
  /^\d[\d,.]*\s+(?:minutes?|hours?|days?|weeks?|months?)\s+(?:before|after|ahead of|prior to)\b/i;

/** "while my phone is locked", "even when the app is in the background": what the action must outlast. */
const deviceStateClause =
  /(?:^|[,;]?\s+)((?:even\s+)?(?:while|when|if)\s+((?:their|the)\s+(?:phone|device|screen|app|tablet)\s+is\s+(?:locked|off|asleep|closed|in the background)))/i;

/**
 * Recording something that goes on for a while ("record my ride with GPS", "record a voice memo"): it is
 * started and stopped, not filled in and submitted.
 */
export function capturesOverTime(action: Action): boolean {
  return (
    /^(?:record|track)$/.test(action.verb) &&
    /\b(?:rides?|runs?|walks?|hikes?|routes?|tracks?|trips?|journeys?|workouts?|activit(?:y|ies)|sessions?|audio|video|voice|memos?|sleep|screen|calls?|meetings?)\b|\bgps\b/i.test(
      `${action.object} ${action.rest}`,
    )
  );
}

/** The actor's own circumstance after the action: "when I am injured", "while I am abroad", third person. */
const circumstanceClause =
  /(?:^|[,;]?\s+)((?:when|whenever|while|if)\s+they\s+(?:are|were|have|feel|get|go|travel|work|live|move|lose|forget|break)\b[^,;]*)/i;

/** People a story may speak of besides its actor. */
const peopleNouns = [
  'users?|customers?|members?|visitors?|admins?|administrators?|employees?|staff|patients?|students?|pupils?',
  'teachers?|clients?|guests?|buyers?|sellers?|vendors?|merchants?|parents?|team|colleagues?|drivers?|couriers?',
  'tenants?|landlords?|residents?|citizens?|subscribers?|attendees?|participants?|candidates?|applicants?',
  'volunteers?|players?|athletes?|partners?|suppliers?|contractors?|freelancers?|managers?|supervisors?',
  'reviewers?|approvers?|moderators?|editors?|authors?|writers?|readers?|followers?|learners?|owners?|hosts?',
  'riders?|passengers?|travell?ers?|shoppers?|agents?|nurses?|doctors?|clinicians?|carers?|caregivers?|friends?',
  'family|pickers?|packers?|workers?|operators?|technicians?|engineers?|developers?|designers?|analysts?',
  'accountants?|clerks?|cashiers?|waiters?|chefs?|cleaners?|inspectors?|auditors?|coaches?|trainers?',
  'instructors?|tutors?|mentors?|recruiters?|employers?|donors?|investors?|dispatchers?|planners?|tellers?',
].join('|');

/** Who can gain from a story besides its actor: a person, or an organisation that acts. */
const someoneNoun = new RegExp(
  `^(?:${peopleNouns}|people|person|everyone|council|shop|store|company|business|bank|clinic|hospital|school|restaurant|hotel|agency|department|office|authority|city|municipality|insurer|organi[sz]ation|support|helpdesk|courier|carrier|warehouse|lab|pharmacy|club|charity|landlord|government)$`,
  'i',
);

/** A subject of the wish that is people, not the product: "users", "every customer". */
const peopleSubject = new RegExp(
  `^(?:(?:the|all|every|each|our)\\s+)?(?:${peopleNouns}|people|everyone|anyone)$`,
  'i',
);

/**
 * "guests to get the door code by SMS", "new users to receive a welcome email", "my team to see the rota": the
 * actor wants other people to do or get something. Groups: the people's adjective, their noun, the wish.
 */
const othersWish = new RegExp(
  `^(?:(?:the|all|every|each|our|my|their)\\s+)?(?:(new|other|existing|invited|registered|returning)\\s+)?(${peopleNouns})\\s+to\\s+(.+)$`,
  'i',
);

/** "team" -> "team member", "new users" -> "new user": one of the people a wish is for. */
function onePersonOf(adjective: string, noun: string): string {
  const person = /^(?:team|staff|family)$/i.test(noun) ? `${noun} member` : singular(noun);
  return `${adjective === '' ? '' : `${adjective} `}${person}`.toLowerCase();
}

/** Being told something is getting a message: "be notified when ..." -> "get a notification when ...". */
const toldAs: Record<string, string> = {
  notified: 'a notification',
  informed: 'a notification',
  told: 'a notification',
  alerted: 'an alert',
  warned: 'a warning',
  reminded: 'a reminder',
  emailed: 'an email',
  texted: 'a text message',
};

function asReceived(wish: string): string {
  return wish.replace(
    /^(?:to\s+)?be\s+(notified|informed|told|alerted|warned|reminded|emailed|texted)\b/i,
    (_, told: string) => `get ${toldAs[told.toLowerCase()] ?? 'a notification'}`,
  );
}

/**
 * "I want a report of overtime hours as Excel": wishing for a document is getting it, wishing for a display
 * is seeing it. "" for any other wish.
 */
function thingWished(wish: string): string {
  const thing =
    /^(?:a|an|the)\s+(?:[\p{L}-]+\s+){0,2}?([\p{L}-]+?)s?\b/iu.exec(wish.trim())?.[1]?.toLowerCase() ?? '';
  if (
    /^(?:report|export|summary|statement|invoice|receipt|copy|file|pdf|csv|spreadsheet|digest|certificate)$/.test(
      thing,
    )
  )
    return `get ${wish}`;
  if (/^(?:overview|list|map|calendar|timeline|history)$/.test(thing)) return `see ${wish}`;
  return '';
}

/** A condition clause after the action: "as long as it has not shipped", "only if the order is unpaid". */
const conditionClause =
  /(?:^|[,;]?\s+)((?:as long as|only if|only while|provided that|providing that|unless)\s+[^,;]+)/i;

const numberWords =
  'a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety|hundred';
const amountNumber = String.raw`\d[\d,.]*`;

/** Time units in the story languages the statement parser knows, so "24 heures" is a duration too. */
const timeUnits = [
  String.raw`(?:business |working )?(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)`,
  String.raw`secondes?|heures?|jours?|semaines?|mois|ans|années?`,
  String.raw`sekunden|stunden?|tagen?|tage|wochen?|monaten?|monate|jahren?|jahre`,
  String.raw`segundos?|horas?|días?|dias?|semanas?|meses|años|anos`,
  String.raw`seconden|uur|uren|dagen|weken|maanden|jaren?`,
  String.raw`secondi|ore|giorni|giorno|settimane|mesi|anni`,
].join('|');

/** Words after a duration that anchor it to an event: "24 hours before each booking", "7 days ahead". */
const durationAnchor = String.raw`(?:\s+(?:before|after|ahead of|prior to|of|from)\s+[^,.;]{1,40}?(?=[,.;]|\s+so\b|\s+in order\b|$)|\s+(?:ahead|in advance|beforehand|earlier|later|avant|à l'avance|à l’avance|après|vorher|im voraus|danach|antes|de antelación|con antelación|de antecedência|después|depois|van tevoren|ervoor|erna|prima|in anticipo|dopo)(?![\p{L}]))?`;

/** The words that bound a number, per comparison, in the story languages the statement parser knows. */
const comparisonWords: Record<Exclude<Comparison, ''>, string> = {
  atMost: String.raw`up to|at most|no more than|not more than|a maximum of|maximum of|maximum|max\.?|until|till|no later than|bis zu|bis|höchstens|maximal|jusqu'à|jusqu’à|au plus|au maximum|hasta|como máximo|até|no máximo|tot|maximaal|hoogstens|fino a|al massimo`,
  atLeast: String.raw`at least|a minimum of|minimum of|minimum|no less than|not less than|no fewer than|mindestens|au moins|al menos|como mínimo|pelo menos|no mínimo|minstens|ten minste|almeno`,
  above: String.raw`over|above|more than|greater than|exceeding|in excess of|über|mehr als|plus de|au-delà de|supérieurs? à|supérieures? à|más de|superior a|por encima de|acima de|mais de|meer dan|boven|hoger dan|oltre|più di|superiore a`,
  below: String.raw`below|under|less than|fewer than|beneath|unter|weniger als|moins de|en dessous de|inférieurs? à|inférieures? à|menos de|inferior a|por debajo de|abaixo de|minder dan|onder|lager dan|meno di|sotto|inferiore a`,
  exactly: String.raw`exactly|last|genau|exactement|exactamente|exatamente|precies|esattamente`,
};

const comparisonOpening = new RegExp(`^(${Object.values(comparisonWords).join('|')})\\s+`, 'iu');
const comparisonBefore = new RegExp(
  `(?:^|[^\\p{L}'’])(${Object.values(comparisonWords).join('|')})\\s+$`,
  'iu',
);

function comparisonOf(words: string): Comparison {
  const lower = words.toLowerCase();
  for (const [comparison, pattern] of Object.entries(comparisonWords) as [
    Exclude<Comparison, ''>,
    string,
  ][]) {
    if (new RegExp(`^(?:${pattern})$`, 'iu').test(lower)) return comparison;
  }
  return '';
}

const englishMonths =
  'January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec';

/** The words before a deadline's date: "by the", "bis zum", "avant le". */
const deadlineLead =
  /^(?:(?:by|before|until|till|no later than|not later than|bis(?: zum| spätestens(?: zum| am)?)?|avant le|d'ici le|au plus tard le|jusqu'au|antes del|hasta el|a más tardar el)\s+(?:the\s+)?)?(?:(?:deadline|closing date|cut-off date|cut-off)\s+(?:of|on|is)\s+(?:the\s+)?)?/iu;

const factPatterns: { kind: StatedFact['kind']; pattern: RegExp }[] = [
  // "from 1 to 5 stars", "between 1 and 10 points": both ends are allowed, nothing outside them.
  {
    kind: 'range',
    pattern:
      /\b(?:from|between)\s+\d[\d,.]*\s+(?:to|and)\s+\d[\d,.]*\s+(?:stars?|points?|marks?|guests?|people|persons?|seats?|items?|tickets?|nights?|days?)\b/giu,
  },
  {
    kind: 'rate',
    pattern: new RegExp(
      String.raw`\b(?:${amountNumber}|${numberWords})\s+(?:requests?|calls?|messages?|attempts?|emails?|orders?)\s+(?:per|a|an|each|every)\s+(?:second|minute|hour|day|week|month)\b`,
      'giu',
    ),
  },
  {
    kind: 'duration',
    pattern: new RegExp(
      String.raw`\b(?:(?:less than|under|within|in under|at most|up to|no more than|more than|over|at least|by more than)\s+)?(?:${amountNumber}|${numberWords})\s+(?:${timeUnits})(?![\p{L}])${durationAnchor}`,
      'giu',
    ),
  },
  {
    kind: 'amount',
    pattern:
      /(?:€|\$|£|¥|\b(?:EUR|USD|GBP|CHF)\s)\s?\d[\d,.]*\d|(?:€|\$|£|¥|\b(?:EUR|USD|GBP|CHF)\s)\s?\d|\b\d[\d,.]*\s?(?:€|£|\$|(?:EUR|USD|GBP|CHF|euros?|dollars?|pounds?)(?![\p{L}]))/gu,
  },
  {
    kind: 'size',
    pattern: /\b\d[\d,.]*\s?(?:KB|MB|GB|TB|kB|px|pixels|characters|chars|pages|megapixels)\b/gu,
  },
  {
    kind: 'count',
    pattern: new RegExp(
      String.raw`(?<![\p{L}'’])(?:${Object.values(comparisonWords).join('|')})\s+(?:\d[\d,]*|${numberWords})\s+[\p{L}]+(?![\p{L}])`,
      'giu',
    ),
  },
  { kind: 'percentage', pattern: /\b\d+(?:\.\d+)?\s?%/gu },
  {
    kind: 'format',
    pattern:
      /\b(?:CSV|PDF|XLSX?|Excel|JSON|XML|ICS|iCal|PNG|JPE?G|HEIC|GIF|MP4|MOV|SVG|ZIP|DOCX?|SMS|QR code)\b/gu,
  },
  {
    kind: 'header',
    pattern:
      /\b(?:[A-Z][A-Za-z0-9]*(?:-[A-Z][A-Za-z0-9]*)+|Authorization|Accept-Language|ETag|If-Match)(?=\s+(?:HTTP\s+)?header)|\b(?:Retry-After|Idempotency-Key|X-[A-Za-z0-9-]+)\b/gu,
  },
  {
    kind: 'status',
    pattern: /\b(?:HTTP|status(?: code)?)\s+[1-5]\d\d\b|\b[45]\d\d\s+(?:status|error|response)\b/giu,
  },
  {
    kind: 'schedule',
    pattern:
      /\b(?:on )?the \d{1,2}(?:st|nd|rd|th)(?: day)? of (?:each|every|the) month\b|\b(?:every|each) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekday|working day|business day|night|morning|evening|day|week|month|quarter|year)\b|\b(?:daily|nightly|weekly|fortnightly|monthly|quarterly|yearly|annually)(?=\s*(?:[,.;]|$|so\b|and\b|at\b|on\b|in order\b|by\b))/giu,
  },
  {
    kind: 'deadline',
    pattern: new RegExp(
      [
        String.raw`\b(?:(?:by|before|until|till|no later than|not later than)\s+(?:the\s+)?(?:(?:deadline|closing date|cut-off date|cut-off)\s+(?:of|on)\s+(?:the\s+)?)?|(?:deadline|closing date|cut-off date)\s+(?:of|on|is)\s+(?:the\s+)?)(?:\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:${englishMonths})|(?:${englishMonths})\s+\d{1,2}(?:st|nd|rd|th)?)(?![\p{L}\d])`,
        String.raw`\bbis (?:zum |spätestens (?:zum |am )?)?\d{1,2}\.\s*(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember)(?![\p{L}])`,
        String.raw`\b(?:avant le|d'ici le|au plus tard le|jusqu'au)\s+\d{1,2}(?:er)?\s+(?:janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre)(?![\p{L}])`,
        String.raw`\b(?:antes del|hasta el|a más tardar el)\s+\d{1,2}\s+de\s+(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)(?![\p{L}])`,
      ].join('|'),
      'giu',
    ),
  },
  {
    kind: 'timeOfDay',
    pattern: /\b\d{1,2}(?::\d\d)?\s?(?:am|pm)\b|\b(?:[01]?\d|2[0-3]):[0-5]\d\b|\bmidnight\b|\bnoon\b/giu,
  },
];

/** "role (viewer, editor, admin)", "filter by price, size and colour". */
const optionPatterns: { about: string; pattern: RegExp }[] = [
  { about: 'role', pattern: /\broles?\s*\(([^)]+)\)/giu },
  {
    about: 'filter',
    pattern:
      /\b(?:filter|sort|group|search)(?:\s+[\p{L}]+){0,3}?\s+by\s+((?:[\p{L}-]+(?:\s+of\s+[\p{L}]+)?)(?:\s*,\s*[\p{L}-]+(?:\s+of\s+[\p{L}]+)?)*(?:\s*(?:,\s*)?(?:and|or)\s+[\p{L}-]+(?:\s+of\s+[\p{L}]+)?)?)/giu,
  },
];

/** Facts that are a number, so words before them can bound them. */
const bounded = new Set<StatedFact['kind']>(['duration', 'amount', 'size', 'count', 'percentage']);

function statedFacts(text: string, wish: string): StatedFact[] {
  const facts: StatedFact[] = [];
  const seen = new Set<string>();
  const add = (kind: StatedFact['kind'], found: string, extra: Partial<StatedFact> = {}): void => {
    const key = found.toLowerCase();
    if ([...seen].some((known) => known.includes(key))) return;
    seen.add(key);
    const opening = bounded.has(kind) ? comparisonOpening.exec(found) : null;
    facts.push({
      kind,
      text: found,
      value: opening
        ? found.slice(opening[0].length)
        : kind === 'deadline'
          ? found.replace(deadlineLead, '')
          : found,
      comparison: opening ? comparisonOf(opening[1] ?? '') : '',
      values: [],
      about: '',
      ...extra,
    });
  };
  // Where facts were found: "Max 100 requests per minute" is one rate, not also a count of 100 requests.
  const spans: [number, number][] = [];
  for (const { kind, pattern } of factPatterns) {
    for (const match of text.matchAll(pattern)) {
      const found = match[0].trim();
      const start = match.index ?? 0;
      const end = start + match[0].length;
      if (spans.some(([from, to]) => start < to && end > from)) continue;
      spans.push([start, end]);
      // A bare "a month" is a stated value only as a period or a rhythm ("for a month", "every week").
      const lead = /\b(for|every|each|per)\s+$/i.exec(text.slice(Math.max(0, start - 8), start))?.[1];
      if (kind === 'duration' && /^(?:a|an|one)\s+\w+$/i.test(found)) {
        if (lead) add(kind, `${lead.toLowerCase()} ${found}`);
        continue;
      }
      // "for 30 minutes" is a period; "for up to 3 months" is a bound on one, checked at its limit.
      if (lead && kind === 'duration' && !comparisonOpening.test(found)) {
        add(kind, `${lead.toLowerCase()} ${found}`);
        continue;
      }
      // The bounding words before a number belong to the fact: "über 500 €", "below 20%".
      const bound =
        bounded.has(kind) && !comparisonOpening.test(found)
          ? comparisonBefore.exec(text.slice(Math.max(0, start - 24), start))?.[1]
          : undefined;
      if (kind === 'range') {
        add(kind, found, { values: found.match(/\d[\d,.]*/g) ?? [] });
        continue;
      }
      add(kind, bound ? `${bound} ${found}` : found);
    }
  }
  for (const { about, pattern } of optionPatterns) {
    for (const match of wish.matchAll(pattern)) {
      const values = (match[1] ?? '')
        .split(/\s*,\s*|\s+(?:and|or)\s+/)
        .map((value) => value.trim())
        .filter((value) => value !== '');
      // "by keyword and filter by ..." lists an action, not options.
      if (values.length > 1 && !values.some((value) => isVerb(value))) {
        add('options', match[0], { values, about });
        break;
      }
    }
  }
  return facts;
}

const languageNames =
  'English French Dutch German Spanish Italian Portuguese Arabic Hebrew Chinese Japanese Polish Turkish'.split(
    ' ',
  );
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
  'Europe',
  'Japan',
  'India',
];

function findAll(text: string, names: readonly string[]): string[] {
  return names.filter((name) => new RegExp(`\\b${name.replace(/\s+/g, '\\s+')}\\b`, 'i').test(text));
}

/** The verb and object of a wish, or the verb and its first phrase when it has no object ("pay for a basket"). */
export function coreOf(wish: string): string {
  const action = readAction(wish);
  if (!action) return wish.toLowerCase();
  const firstPhrase =
    action.rest.split(
      /\s+(?=(?:to|from|with|by|of|for|in|on|at|via|before|after|through|when|that|which|so)\b)/,
    )[0] ?? '';
  return `${action.verb} ${action.object === '' ? firstPhrase : action.object}`.toLowerCase();
}

/** "reset it" by a "user who forgot my password" resets their password; without a clue, "it" stays. */
function resolvePronoun(action: Action, roleTail: string): Action {
  const thing = /\b(?:my|our|their|the|a|an)\s+([\p{L}-]+(?:\s+[\p{L}-]+)?)\s*$/iu.exec(roleTail)?.[1];
  if (!thing) return action;
  const object = `their ${thing}`;
  return {
    ...action,
    object,
    phrase: [action.verb, object, action.rest].filter((part) => part !== '').join(' '),
  };
}

/** "so that the landlord can schedule a repair" -> the landlord, "can schedule a repair". */
function beneficiaryOf(benefit: string): StoryFacts['beneficiary'] {
  const match =
    /^((?:the|their|an?|every|each|other)\s+[\p{L}-]+(?:\s+[\p{L}-]+)?|[\p{L}-]+s)\s+((?:can|could|will|may|sees?|has|have|gets?|knows?|receives?)\b.*)$/iu.exec(
      benefit,
    );
  if (!match?.[1] || !match[2]) return undefined;
  // "a leaked key can be replaced": a thing that something is done to, not a person who gains.
  if (/^(?:can|could|will|may)\s+be\b|^(?:is|are|gets?)\s+\w+ed\b/i.test(match[2])) return undefined;
  const who = match[1];
  if (/^(they|their [\p{L}]+ is|it)$/iu.test(who)) return undefined;
  // "every shift has enough people": only a person or an organisation gains something.
  if (!someoneNoun.test(who.split(/\s+/).at(-1) ?? '')) return undefined;
  return { who, gains: match[2] };
}

/**
 * The action's phrase without the values the story states, so a criterion about one value does not repeat
 * it or another: "upload at most 5 photos of at least 800 px wide" -> "upload photos". A count keeps its noun.
 */
function phraseWithoutValues(phrase: string, facts: readonly StatedFact[]): string {
  let result = phrase;
  for (const fact of facts) {
    if (fact.kind === 'options' || fact.kind === 'format' || fact.kind === 'header') continue;
    // "get a notification when the battery is below 20%": the clause holding the value goes with it.
    const at = result.toLowerCase().indexOf(fact.text.toLowerCase());
    const clause =
      at < 0 ? null : /\s(?:when|whenever|if|once|while|where)\s[^,;]*$/i.exec(result.slice(0, at));
    if (clause) {
      result = `${result.slice(0, clause.index)} ${result.slice(at + fact.text.length)}`;
      continue;
    }
    const escaped = fact.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // "upload at most 5 photos" keeps its noun ("upload photos"); "a file with up to 5,000 rows" drops the lot.
    const afterPreposition = new RegExp(`\\s(?:with|of|for|in|containing)\\s+${escaped}`, 'iu');
    if (fact.kind === 'count' && afterPreposition.test(result)) {
      result = result.replace(afterPreposition, '');
      continue;
    }
    const noun = fact.kind === 'count' ? (/\s(\S+)$/.exec(fact.text)?.[1] ?? '') : '';
    // "freeze it for up to 3 months" without its bound: the "for" goes with it.
    result = result.replace(
      new RegExp(
        `${fact.kind === 'duration' ? '(?:\\bfor\\s+)?' : ''}${escaped}(?:\\s+(?:wide|long|high|tall|large|big|in size))?`,
        'iu',
      ),
      noun,
    );
  }
  return (
    result
      .replace(/\s+/g, ' ')
      // "created in the last 30 days through the API" (or "... as CSV") without its value: "in the" lost its noun.
      .replace(
        /\s+(?:in|within|during|over|for|of|from|at|by|on|under)\s+(?:the|a|an|my|their|our)(?=\s+(?:in|within|during|over|for|of|from|at|by|on|through|to|with|via|as|into|per|using|and|or|so)\b|\s*$)/gi,
        '',
      )
      .replace(/(?:\s+(?:of|for|by|in|at|with|to|from|when|before|after|ahead|and|or))+\s*$/i, '')
      // "a PDF of at most 20 MB before the deadline" without its value: "of" lost its noun.
      .replace(
        /\s+(?:of|for|by|in|at|with|to|from)\s+(?=(?:of|for|by|in|at|with|to|from|before|after|until|during|within)\b)/gi,
        ' ',
      )
      .trim()
  );
}

/**
 * Extracts the facts the offline rules work with. Stories in another language keep their words; only what
 * does not depend on reading them (stated values, formats, the role as written) is used.
 */
export function storyFacts(story: Story): StoryFacts {
  const language = detectLanguage(story.original);
  const english = language.code === 'en';
  const written = story.statement.asA.replace(/^(?:a|an|the)\s+/i, '').trim();
  // "user who forgot my password" is a user; "accountant using the desktop app" is an accountant.
  const role = english ? written.replace(/\s+(?:who|that|on|using|with|from|at|in)\b.*$/i, '') : written;
  const roleTail = english ? written.slice(role.length) : '';
  const means = english ? actionsOf(story.statement.iWant) : { subject: '', actions: [] };
  const features = means.actions;
  // A compound wish is read from its first feature ("book an appointment ..." of "book, move or cancel ...").
  const firstWish = features.length > 1 ? (features[0] ?? '') : actorWish(story.statement.iWant);
  // "I want guests to get the door code": the criteria are about the guests, who do or get what follows.
  const others = english ? othersWish.exec(firstWish) : null;
  const wished = asReceived(others?.[3] ?? firstWish);
  const doer = others ? onePersonOf(others[1] ?? '', others[2] ?? '') : undefined;
  // "Users should be able to delete their account": people as the subject do what follows.
  const byPeople = peopleSubject.test(means.subject) && features.length === 1 ? (features[0] ?? '') : '';
  const read = english
    ? (readAction(wished) ?? readAction(byPeople) ?? readAction(thingWished(wished)))
    : undefined;
  const resolved = read && /^(?:it|them)$/i.test(read.object) ? resolvePronoun(read, roleTail) : read;
  const facts = statedFacts(story.original.slice(0, analysisChars), story.statement.iWant);
  // Criteria about signing in or screen readers need not repeat "up to 7 days ahead": the value has its own.
  const action = resolved && { ...resolved, phrase: phraseWithoutValues(resolved.phrase, facts) };
  const benefit = english ? thirdPersonText(story.statement.soThat) : story.statement.soThat;
  const wish = story.statement.iWant.toLowerCase();
  return {
    language,
    english,
    productType: story.productType,
    role: doer ?? role,
    // A role in another language is quoted, so English sentences keep the story's own word for the actor.
    actor: doer ? `the ${doer}` : role === '' ? 'the user' : english ? `the ${role}` : `the "${role}"`,
    action,
    kind: action ? actionKindOf(action) : undefined,
    features: features.length > 1 ? features : [],
    featureActions: features.slice(1).map((feature) => {
      const further = readAction(feature);
      return further && { ...further, phrase: phraseWithoutValues(further.phrase, facts) };
    }),
    benefit,
    beneficiary: english ? beneficiaryOf(benefit) : undefined,
    owned: /^their\b/i.test(action?.object ?? ''),
    reachesOthers:
      /\b(?:another|other|others|someone|somebody|a client|clients|colleagues?|friends?|recipients?|customers?|candidates?|guests?|patients?|tenants?|students?)\b|\b(?:share|send|invite|transfer|refer|forward|assign)\b/i.test(
        wish,
      ),
    anonymous: /\b(?:visitor|guest|anonymous|passer-by|passerby|prospect)\b/i.test(doer ?? role),
    received: action ? receivedMessage(action) : undefined,
    text: `${story.original.slice(0, analysisChars)}\n${story.implementationNotes.map((note) => note.text).join('\n')}`
      .slice(0, 2 * analysisChars)
      .toLowerCase(),
    // Who the story is for decides its domain: "As an admin, I want new users to receive ..." is not admin work.
    subject: `${doer ?? role} ${story.statement.iWant}`.toLowerCase(),
    core: coreOf(english ? (features[0] ?? story.statement.iWant) : ''),
    facts,
    languages: findAll(story.original, languageNames),
    places: findAll(story.original, placeNames),
  };
}

const messageNouns =
  /^(?:(?:a|an|the|my|their|one)\s+)?((?:[\p{L}-]+\s+)?(?:notifications?|alerts?|reminders?|messages?|e-?mails?|sms|texts?|push notifications?|warnings?|digests?|newsletters?|webhooks?|callbacks?))$/iu;

/** How something is sent to a person: "by SMS", "via email", "in a push notification". */
const sentBy =
  /^(?:by|via|in|as|through)\s+(?:an?\s+)?(sms|text(?: message)?|e-?mail|push(?: notification)?|letter|post)\b/i;

const channelNames: Record<string, string> = {
  sms: 'SMS',
  text: 'text message',
  push: 'push notification',
  post: 'letter',
};

/**
 * "receive an alert" -> "alert"; "get the door code by SMS" -> "SMS with the door code"; undefined when the
 * action is not being sent something.
 */
function receivedMessage(action: Action): string | undefined {
  if (action.verb !== 'receive' && action.verb !== 'get') return undefined;
  const message = messageNouns.exec(action.object)?.[1]?.toLowerCase();
  if (message) return message;
  const channel = sentBy
    .exec(action.rest)?.[1]
    ?.toLowerCase()
    .replace(/^e-mail$/, 'email');
  if (!channel || action.object === '') return undefined;
  return `${channelNames[channel] ?? channel} with ${theThing(action.object)}`;
}

/** "a door code" -> "the door code": what is sent is a particular one. */
function theThing(object: string): string {
  return object.replace(/^(?:a|an)\s+/i, 'the ');
}

/** "a", "a or b", "a, b or c". */
export function joinList(items: readonly string[], conjunction: 'and' | 'or'): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1] ?? ''}`;
}
