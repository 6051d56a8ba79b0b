import type { Finding } from '../patch';
import { indefiniteArticle, parseStatement, splitSentences, type Statement, type Story } from '../story';
import { determiners, isVerb, nounLikeVerbs, particleAfter, prepositions } from './english';
import { detectLanguage, type StoryLanguage } from './language';

/*
 * Validation of the story itself on the Quality User Story (QUS) criteria (Lucassen et al., 2016): one finding
 * per defect, each with what is wrong, quoting the words concerned, and a suggested rewrite where one applies.
 */

/** Adverbs of manner or place that end an object ("view my results online"). */
const mannerAdverb =
  /^(?:online|offline|remotely|automatically|manually|instantly|immediately|directly|again|later|together|now|today|quickly|easily)$/;

/** What the validator read, for the rules that write criteria and questions from it. */
export interface StoryCheck {
  findings: Finding[];
  /** Open questions for the product owner: what the defects leave undecided. */
  questions: string[];
  language: StoryLanguage;
  /** The features of a compound story, each an action phrase ("search the catalogue by keyword"). */
  features: string[];
}

/** How much of a story the wording checks read: a statement is short, a hostile 50 KB text must stay cheap. */
export const analysisChars = 6_000;

/** Languages whose statement forms the parser knows, so a missing role or benefit can be claimed. */
const statementLanguages = new Set(['en', 'fr', 'de', 'nl', 'es', 'pt', 'it']);

/** Reasons given with "because" and its equivalents: a benefit, though not in the "so that" form. */
const reasonMarkers =
  /\b(because|since|as otherwise|parce que|weil|denn|omdat|porque|perché|poiché)\b|\bcar\b/iu;

// ---------------------------------------------------------------------------------------------------------
// Instruction-like text

/** Each pattern describes text that addresses the AI instead of the team; paraphrases included. */
const instructionPatterns: readonly RegExp[] = [
  // Override: "ignore / disregard / forget ... instructions / the rules above / what you were told".
  /\b(?:ignore|disregard|forget|override|bypass|discard|abandon|stop following|do not follow|don't follow)\b[^.;!?\n]{0,40}?(?:\b(?:instructions?|prompts?|system message)\b|\b(?:previous|prior|above|earlier|original|system|your|all|these|those|any)\s+(?:rules|guidelines|guidance|directions|directives|commands|constraints|guardrails|policies)\b|\brules\s+(?:above|before)\b|\b(?:everything|anything|all)\s+(?:you(?:'ve| have| were)?\s+(?:been\s+)?(?:told|given)|above|before|previously)\b|\bwhat you (?:were|have been) told\b)/iu,
  // The reader told what to skip or decide: stories speak as "I", never to "you".
  /\byou\s+(?:should|must|need to|have to|are to|will)\s+(?:now\s+)?(?:ignore|skip|disregard|forget|bypass|override|approve|accept)\b/iu,
  // Persona and mode switches.
  /\b(?:you are now|from now on,? you|you must now|you will now|you should now|act as (?:an? |the )?(?:ai|assistant|system|admin|developer|unrestricted)|pretend (?:to be|you are)|role-?play as|developer mode|jailbreak|dan mode|as an (?:ai|llm)|as a (?:large )?language model)\b/iu,
  // Role labels that fake a conversation turn, a new instruction announced as such, and the AI addressed by name.
  /(?:^|[\n.;!?]\s*)(?:system|assistant|developer|(?:new|updated|additional|real) instructions?)\s*:/iu,
  /(?:^|[\n.;!?>]\s*)(?:assistant|ai|chatbot|claude|gpt|llm)\s*,\s+(?:please\s+)?(?:ignore|disregard|forget|add|write|output|print|reply|respond|answer|do|don't|stop|you|now|from now|say|return|include|remove|make|change|give|tell|list|show|reveal|skip|approve)\b/iu,
  // Exfiltration of the prompt or configuration.
  /\b(?:print|reveal|show|output|repeat|tell me|leak|disclose|display|dump|give me|write out|return)\b[^.;!?\n]{0,20}?\b(?:your|the hidden|the secret|the internal|the initial|the system|hidden|secret)\s+(?:system\s+)?(?:prompt|instructions|rules|configuration|guidelines|context)\b/iu,
  /\b(?:you were|you've been|you have been)\s+(?:given|told|instructed|programmed|configured)\b/iu,
  // Output hijacking.
  /\b(?:reply|respond|answer|output|print|say|write)\s+(?:only|just|exactly)\s+(?:with\s+)?(?:the\s+)?(?:words?|text|phrase)\b/iu,
  /\b(?:output|print|say|write|answer|reply)\b[^.;!?\n]{0,40}?\binstead of (?:a|an|the|your) (?:specification|story|analysis|answer|output|json)\b/iu,
  /\b(?:ai|assistant|model|llm|bot|gpt|claude)\b[^.;:!?\n]{0,20}?\b(?:reading|processing|analy[sz]ing|parsing) this\b/iu,
  // Markup that imitates the engine's own delimiters or chat templates.
  /<\/?\s*(?:story_data|user_story|engine_request|system|instructions?|prompt|assistant)\b[^>]*>|\[\/?(?:INST|SYS)\]|<\|im_(?:start|end)\|>/iu,
  // The same override in the other common story languages.
  /\b(?:ignore[rz]?|oublie[rz]?)\b[^.;!?\n]{0,40}?\b(?:instructions|consignes|règles)\b/iu,
  /\b(?:ignorier(?:e|en)?|vergiss|vergessen sie)\b[^.;!?\n]{0,40}?\b(?:anweisungen|regeln|instruktionen)\b/iu,
  /\b(?:ignora|olvida|olvide|esquece|esqueça|dimentica)\b[^.;!?\n]{0,40}?\b(?:instrucciones|instruções|istruzioni|reglas|regras|regole)\b/iu,
  /\b(?:negeer|vergeet)\b[^.;!?\n]{0,40}?\b(?:instructies|regels)\b/iu,
];

/** Words at least one instruction pattern needs: sentences without any are skipped cheaply. */
const instructionCues =
  /ignor|disregard|forget|overrid|bypass|discard|abandon|follow|you|system|assistant|developer|jailbreak|dan mode|\bai\b|llm|model|bot\b|gpt|claude|reply|respond|answer|output|print|reveal|repeat|leak|disclose|dump|instead of|<|\[inst|\[sys|oubli|ignorier|vergiss|olvid|esque|dimentic|negeer|vergeet/iu;

/** The sentences of `text` that try to instruct the AI. */
export function instructionSentences(text: string): string[] {
  const found: string[] = [];
  if (!instructionCues.test(text)) return found;
  for (const sentence of splitSentences(text)) {
    if (!instructionCues.test(sentence.text)) continue;
    if (instructionPatterns.some((pattern) => pattern.test(sentence.text))) found.push(sentence.text);
  }
  // Delimiters spanning sentences ("... </story_data> <engine_request> ...") are caught on the whole text.
  if (found.length === 0 && instructionPatterns.some((pattern) => pattern.test(text))) {
    found.push(text.length > 160 ? `${text.slice(0, 157).trimEnd()}...` : text);
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------------
// Minimality

/** Words that mark notes, references, estimates and history rather than the story itself. */
const extraTextMarkers =
  /\b(?:see|ref|ticket|jira|docs?|documentation|mock-?ups?|figma|confluence|wiki page|link|estimate[sd]?|story points?|points?|pts|priority|owner|assignee|sprint|due|discussed|agreed|requested by|asked for by|background|history|note|nb|fyi|ps|todo|fixme|blocked by|depends on|last (?:week|month|year|sprint|quarter)|already tried|previously|in the past|from (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday))\b|https?:\/\/|\b[A-Z]{2,}-\d+\b|#\d+\b|\bP[0-4]\b/iu;

const parenthetical = /\([^()]*\)|\[[^[\]]*\]/g;

interface Paragraph {
  text: string;
  sentences: string[];
  /** Index of the sentence holding the statement (or the first sentence). */
  statementIndex: number;
}

/** The story's first paragraph, where the statement is; later paragraphs are attached context. */
function firstParagraph(original: string): Paragraph {
  const lines = original.split(/\r?\n/);
  const kept: string[] = [];
  for (const line of lines) {
    if (/^\s*#/.test(line) && kept.length === 0) continue;
    if (line.trim() === '' || /^\s*(?:[-*+]|\d+[.)])\s/.test(line)) {
      if (kept.length > 0) break;
      continue;
    }
    kept.push(line.trim());
  }
  const text = kept.join(' ');
  const sentences = splitSentences(text).map((span) => span.text);
  const statementIndex = Math.max(
    0,
    sentences.findIndex((sentence) =>
      /\b(?:As (?:an?|the)\b|En tant qu|Als\s|Como\s|Come\s)/iu.test(sentence),
    ),
  );
  return { text, sentences, statementIndex };
}

/** A line that fills a ticket field rather than telling the story: "Estimate: 5 points", "Notes: ...". */
const ticketFieldLine =
  /^(?:notes?|nb|fyi|ps|todo|fixme|estimated?|estimates|story points?|points|priority|owner|assignee|reporter|sprint|due(?: date)?|refs?|references?|see(?: also)?|links?|jira|tickets?|labels?|tags?|components?|epic)\s*[:=–—-]\s*\S/iu;

/**
 * Paragraphs after the statement made only of ticket fields. Other later paragraphs (a description, the
 * user's own criteria under a heading or in a list) are attached context and stay out of this check.
 */
function ticketFieldParagraphs(original: string): string[] {
  return original
    .split(/\r?\n\s*\r?\n/)
    .slice(1)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => {
      if (paragraph === '' || /^\s*(?:#|[-*+]\s|\d+[.)]\s)/m.test(paragraph)) return false;
      const lines = paragraph
        .split(/\r?\n/)
        .flatMap((line) => splitSentences(line.trim()).map((span) => span.text.trim()));
      return lines.length > 0 && lines.every((line) => ticketFieldLine.test(line));
    })
    .map((paragraph) =>
      paragraph
        .split(/\r?\n/)
        .map((line) => line.trim())
        .join('; '),
    );
}

interface ExtraText {
  parts: string[];
  /** The paragraph without them: the suggested minimal story. */
  minimal: string;
}

function extraText(paragraph: Paragraph, instructions: readonly string[]): ExtraText {
  const parts: string[] = [];
  const isInstruction = (sentence: string): boolean =>
    instructions.some((instruction) => instruction.includes(sentence) || sentence.includes(instruction));
  const kept: string[] = [];
  paragraph.sentences.forEach((sentence, index) => {
    if (isInstruction(sentence)) return;
    if (index !== paragraph.statementIndex) {
      parts.push(sentence);
      return;
    }
    let core = sentence;
    for (const group of sentence.match(parenthetical) ?? []) {
      if (extraTextMarkers.test(group) || /^\[[^\]]*:/.test(group)) {
        parts.push(group);
        core = core.replace(group, ' ');
      }
    }
    const opening = /\b(?:As (?:an?|the)\b|En tant qu|Als\s|Como\s|Come\s)/iu.exec(core);
    const prefix = opening ? core.slice(0, opening.index).trim() : '';
    if (prefix !== '' && /[\p{L}\d]/u.test(prefix)) {
      parts.push(prefix);
      core = core.slice(opening?.index ?? 0);
    }
    kept.push(
      core
        .replace(/\s+([,.;!?])/g, '$1')
        .replace(/\s+/g, ' ')
        .trim(),
    );
  });
  return { parts, minimal: kept.join(' ') };
}

// ---------------------------------------------------------------------------------------------------------
// Vague wording

interface VagueFamily {
  words: RegExp;
  /** What a tester could check instead. */
  instead: string;
}

const vagueFamilies: readonly VagueFamily[] = [
  {
    words:
      /\b(?:(?:much|more|a lot|way|far|even|very|really|super)\s+)*(?:fast|faster|quick|quicker|quickly|speedy|slow|snappy|performant|efficient|efficiently|more efficiently|instant|instantly)\b/giu,
    instead: 'a time limit, for example "within 2 seconds for 95% of requests"',
  },
  {
    words:
      /\b(?:as soon as possible|asap|in a timely (?:manner|fashion)|timely|promptly|in due (?:time|course))\b/giu,
    instead: 'a deadline or a time limit, for example "within 1 hour of the order"',
  },
  {
    words:
      /\b(?:(?:much|more|very|really|super)\s+)*(?:simple|simpler|easy|easier|easily|intuitive|intuitively|user[- ]friendly|seamless|seamlessly|smooth|smoothly|convenient|effortless|straightforward)\b/giu,
    instead: 'an observable usability target, for example "in at most 3 steps, without help"',
  },
  {
    words:
      /\b(?:(?:much|more|very|really)\s+)*(?:modern|nice|nicer|clean|beautiful|attractive|sleek|pretty|fancy|cool|sexy|polished)\b/giu,
    instead: 'the concrete elements wanted, for example "a chart per team and a filter by week"',
  },
  {
    words:
      /\b(?:manage|manages|managing|management|handle|handles|handling|administer|deal with|take care of)\b/giu,
    instead: 'the actions meant, for example "add, edit and deactivate"',
  },
  {
    words:
      /\b(?:etc\.?|and so on|and more|and the like|everything|anything|all kinds of|various|all the things|and other stuff|some (?:kind|sort) of|somehow|something like)(?=[\s,.;!?]|$)/giu,
    instead: 'the complete list of items',
  },
  {
    words:
      /\b(?:(?:much|more|very|really)\s+)*(?:better|improve|improves|improving|improved|enhance|enhanced|optimal|optimised|optimized|robust|flexible|powerful|smart|reliable|scalable|best|good|great|proper|properly|appropriate|appropriately)\b/giu,
    instead: 'the measure that must change, from what value to what value',
  },
  {
    words: /\b(?:relevant|meaningful|suitable)\b/giu,
    instead: 'the rule that decides it, for example "bought by others who bought this in the last 90 days"',
  },
  {
    words: /\b(?:(?:much|more|very|really)\s+)*(?:secure|securely|safe|safely)\b/giu,
    instead: 'the protection meant, for example "sessions end after 15 minutes without activity"',
  },
];

interface VagueTerm {
  phrase: string;
  instead: string;
}

function vagueTerms(means: string): VagueTerm[] {
  const terms: VagueTerm[] = [];
  for (const family of vagueFamilies) {
    for (const match of means.matchAll(family.words)) {
      const phrase = match[0].trim();
      if (!terms.some((term) => term.phrase.toLowerCase() === phrase.toLowerCase())) {
        terms.push({ phrase, instead: family.instead });
      }
    }
  }
  return terms;
}

// ---------------------------------------------------------------------------------------------------------
// Atomicity

/** Word pairs that name one action ("drag and drop"). */
const idioms = new Set([
  'drag and drop',
  'copy and paste',
  'cut and paste',
  'search and replace',
  'find and replace',
  'click and collect',
  'pick and mix',
  'plug and play',
  'buy now and pay later',
  'tap and go',
  'sign and send',
]);

const conjunctions = new Set(['and', 'or', ',', '/', '&', 'then']);
/** Articles and possessives that open a separate thing ("a flight and a hotel"). */
const separateDeterminers = new Set(['a', 'an', 'the', 'my', 'our', 'their', 'your', 'his', 'her']);

interface Token {
  text: string;
  lower: string;
}

function tokens(text: string): Token[] {
  // A currency sign, a percent sign and a thousands separator belong to their number: "€1,000", "20%".
  const word = /[€$£¥]?[\p{L}\d](?:[\p{L}\d'’.-]|(?<=\d),(?=\d))*[\p{L}\d]%?|[€$£¥]?[\p{L}\d]%?|[,/&;]/gu;
  return (text.match(word) ?? []).map((word) => ({
    text: word,
    lower: word.toLowerCase(),
  }));
}

/**
 * True when the token at `index` starts a new action: a verb right after "and", "or" or a comma. A verb that is
 * as often a noun ("print", "report") counts when an object or a preposition follows it, or when the series
 * already holds another action ("add products and set discounts and print shipping labels").
 */
function startsAction(list: readonly Token[], index: number, inSeries: boolean): boolean {
  const word = list[index];
  const before = list[index - 1];
  if (!word || !before || !isVerb(word.lower)) return false;
  // "create quizzes, grade them and publish results": a comma inside a series that "and" or "or" ends.
  const inCommaSeries =
    before.lower === ',' &&
    !nounLikeVerbs.has(word.lower) &&
    list.slice(index + 1).some((token) => conjunctions.has(token.lower));
  const afterConjunction =
    conjunctions.has(before.lower) ||
    (before.lower === 'also' && conjunctions.has(list[index - 2]?.lower ?? '')) ||
    inCommaSeries;
  if (!afterConjunction) return false;
  const phrase = list
    .slice(Math.max(0, index - 2), index + 1)
    .map((token) => token.lower)
    .join(' ');
  if ([...idioms].some((idiom) => idiom.endsWith(phrase) || phrase.endsWith(idiom))) return false;
  if (!nounLikeVerbs.has(word.lower) || inSeries) return true;
  const particle = particleAfter(word.lower, list[index + 1]?.lower);
  const next = list[index + (particle === '' ? 1 : 2)]?.lower;
  return (
    next === undefined ||
    determiners.has(next) ||
    prepositions.has(next) ||
    conjunctions.has(next) ||
    ['it', 'them', 'me', 'us'].includes(next) ||
    /^\d/.test(next)
  );
}

const subjectOpening =
  /^((?:(?:the|a|an|our|my|this|its|their)\s+)?[\p{L}-]+(?:\s+[\p{L}-]+)?)\s+(?:should|shall|must|will|needs? to|has to|can|could)\s+/iu;

interface Means {
  /** "the dashboard" when the wish reads "The dashboard should ..."; "" otherwise. */
  subject: string;
  actions: string[];
}

/**
 * The separate actions a wish asks for: verbs joined by "and", "or" or commas, things joined with their own
 * articles ("a flight and a hotel") and second wishes ("and also ..."). Shared objects are repeated for each
 * action, so every action reads on its own ("compare products", "review products").
 */
/**
 * "the app to show my next stop and let me call the customer": the product as the subject of the wish. What it
 * shows, lets or sends the actor is what the actor does ("see my next stop", "call the customer").
 */
const productSubject =
  /^(?:to\s+)?(?:have\s+)?(?:the|a|an|our|my|this)\s+(?:[\p{L}-]+\s+)?(?:app|application|system|site|website|portal|tool|platform|product|service|software|page|screen|dashboard|bot|assistant)\s+to\s+(?=(?:show|display|present|let|allow|enable|help|send|e-?mail|text|notify|alert|remind|warn)\b)/iu;

/** A wish with the product as its subject, as the actor's own actions; any other wish as it is. */
export function actorWish(wish: string): string {
  const opening = productSubject.exec(wish);
  if (!opening) return wish;
  return wish
    .slice(opening[0].length)
    .replace(/\b(?:show|display|present)\s+(?:me\s+|us\s+)?/giu, 'see ')
    .replace(/\b(?:let|allow|enable|help)\s+(?:me|us)\s+(?:to\s+)?/giu, '')
    .replace(/\b(?:send|e-?mail|text)\s+(?:me|us)\s+/giu, 'receive ')
    .replace(/\b(?:notify|alert|remind|warn)\s+(?:me|us)\b/giu, 'be notified');
}

export function actionsOf(wish: string): Means {
  const withoutNotes = actorWish(wish).replace(parenthetical, ' ').replace(/\s+/g, ' ').trim();
  const subjectMatch = subjectOpening.exec(withoutNotes);
  const subject = subjectMatch?.[1] ?? '';
  const body = (subjectMatch ? withoutNotes.slice(subjectMatch[0].length) : withoutNotes).replace(
    /^(?:to\s+)?(?:be able to\s+)?/i,
    '',
  );
  const wishes = body
    .split(
      /\s*(?:,\s*)?\b(?:(?:and also|and then also|as well as|and additionally|plus)\b\s*(?:(?:I|we)\s+(?:also\s+)?(?:want|need|would like)\s+)?|and\s+(?:I|we)\s+(?:also\s+)?(?:want|need|would like)\s+)(?:to\s+)?/iu,
    )
    .filter((part) => part.trim() !== '');
  const actions: string[] = [];
  for (const part of wishes) {
    const list = tokens(part);
    const groups: Token[][] = [[]];
    list.forEach((token, index) => {
      if (index > 0 && startsAction(list, index, groups.length > 1)) {
        const current = groups[groups.length - 1] ?? [];
        while (current.length > 0 && conjunctions.has(current[current.length - 1]?.lower ?? ''))
          current.pop();
        if (current.at(-1)?.lower === 'also') current.pop();
        while (current.length > 0 && conjunctions.has(current[current.length - 1]?.lower ?? ''))
          current.pop();
        groups.push([token]);
      } else {
        groups[groups.length - 1]?.push(token);
      }
    });
    actions.push(...shareObjects(groups.filter((group) => group.length > 0)));
  }
  if (actions.length === 1) {
    const split = splitObjects(tokens(actions[0] ?? ''));
    if (split.length > 1) return { subject, actions: split };
  }
  return { subject, actions };
}

function render(list: readonly Token[]): string {
  return list
    .map((token) => token.text)
    .join(' ')
    .replace(/\s+([,;])/g, '$1')
    .replace(/\s*\/\s*/g, ' / ');
}

/** Where the direct object of an action ends: at its first preposition or conjunction. */
function verbLength(group: readonly Token[]): number {
  const verb = group[0]?.lower ?? '';
  return particleAfter(verb, group[1]?.lower) === '' ? 1 : 2;
}

function shareObjects(groups: readonly Token[][]): string[] {
  const result: Token[][] = groups.map((group) => [...group]);
  // Bare verbs ("compare and review and buy products") take the object of the next action that has one.
  for (let index = result.length - 2; index >= 0; index -= 1) {
    const group = result[index] ?? [];
    const next = result[index + 1] ?? [];
    if (group.length === verbLength(group) && next.length > verbLength(next)) {
      group.push(...next.slice(verbLength(next)));
    }
  }
  // An action with only a prepositional object ("filter by price") takes the previous action's object.
  for (let index = 1; index < result.length; index += 1) {
    const group = result[index] ?? [];
    const previous = result[index - 1] ?? [];
    const length = verbLength(group);
    if (!prepositions.has(group[length]?.lower ?? '') || group[length]?.lower === 'to') continue;
    const start = verbLength(previous);
    let end = start;
    while (end < previous.length && !prepositions.has(previous[end]?.lower ?? '')) end += 1;
    if (end > start) group.splice(length, 0, ...previous.slice(start, end));
  }
  // "see a chart of daily sales and export it": "it" is the previous action's object (without how or where
  // it was done: "view my results online and download them" downloads "the results"), so each split story
  // says what it acts on ("export the chart of daily sales").
  for (let index = 1; index < result.length; index += 1) {
    const group = result[index] ?? [];
    const previous = result[index - 1] ?? [];
    const length = verbLength(group);
    if (!['it', 'them'].includes(group[length]?.lower ?? '')) continue;
    const start = verbLength(previous);
    let end = start;
    while (end < previous.length) {
      const word = previous[end]?.lower ?? '';
      if ((prepositions.has(word) && word !== 'of') || conjunctions.has(word) || mannerAdverb.test(word))
        break;
      end += 1;
    }
    const object = previous.slice(start, end);
    if (object.length === 0 || ['it', 'them', 'me', 'us'].includes(object[0]?.lower ?? '')) continue;
    const [first] = object;
    if (first && /^(?:a|an)$/.test(first.lower)) object[0] = { ...first, text: 'the', lower: 'the' };
    group.splice(length, 1, ...object);
  }
  // "let them export reports and manage users": the second action keeps "let them".
  for (let index = 1; index < result.length; index += 1) {
    const previous = result[index - 1] ?? [];
    const group = result[index] ?? [];
    const [causative, object] = previous;
    if (!causative || !object || !/^(let|allow|help|enable)$/.test(causative.lower)) continue;
    if (isVerb(group[0]?.lower ?? '') && ['them', 'me', 'us', 'him', 'her'].includes(object.lower)) {
      group.unshift(causative, object);
    }
  }
  return result.map(render);
}

/** "book a flight and a hotel" -> "book a flight", "book a hotel": things with their own articles. */
function splitObjects(list: readonly Token[]): string[] {
  const length = verbLength(list);
  if (!isVerb(list[0]?.lower ?? '')) return [render(list)];
  const verb = list.slice(0, length);
  const rest = list.slice(length);
  if (!separateDeterminers.has(rest[0]?.lower ?? '')) return [render(list)];
  const parts: Token[][] = [[]];
  for (const [index, token] of rest.entries()) {
    if (prepositions.has(token.lower) && parts.length === 1) return [render(list)];
    if (token.lower === 'and' && separateDeterminers.has(rest[index + 1]?.lower ?? '')) {
      parts.push([]);
      continue;
    }
    parts[parts.length - 1]?.push(token);
  }
  if (parts.length < 2) return [render(list)];
  return parts.map((part) => render([...verb, ...part]));
}

// ---------------------------------------------------------------------------------------------------------
// Full sentences

const finiteVerb =
  /\b(?:I|we|you|they|he|she)\s+\p{L}|\S\s+(?:should|shall|must|will|would|can|could|may|might|needs?|has to|have to|is|are|was|were|has|have|does|do|wants?)\b/iu;

/** True when the text reads as a sentence: a subject with a verb, or an imperative of three words or more. */
function isSentence(text: string): boolean {
  if (finiteVerb.test(text)) return true;
  const list = tokens(text).filter((token) => /\p{L}/u.test(token.text));
  for (const [index, token] of list.entries()) {
    const previous = list[index - 1]?.lower ?? '';
    const base = token.lower.replace(/(?:es|s)$/, '');
    const third =
      index > 0 &&
      /s$/.test(token.lower) &&
      (isVerb(base) || isVerb(token.lower.slice(0, -1))) &&
      !determiners.has(previous) &&
      !prepositions.has(previous) &&
      !isVerb(previous);
    if (third) return true;
  }
  const first = list[0]?.lower ?? '';
  return isVerb(first) && !nounLikeVerbs.has(first) && list.length >= 3 && /[.!]\s*$/.test(text);
}

// ---------------------------------------------------------------------------------------------------------
// The checks

function quote(text: string, max = 120): string {
  const trimmed = text.replace(/\s+/g, ' ').replace(/"/g, "'").trim();
  return `"${trimmed.length > max ? `${trimmed.slice(0, max - 3).trimEnd()}...` : trimmed}"`;
}

function finding(kind: Finding['kind'], detail: string, suggestion = '', split: string[] = []): Finding {
  return { kind, detail, suggestion, split };
}

/** "I"/"my" wording turned to the role's: "my parcel" -> "their parcel". */
export function thirdPersonText(text: string): string {
  return text
    .replace(/\bI am\b/g, 'they are')
    .replace(/\bI'm\b/g, "they're")
    .replace(/\bI was\b/g, 'they were')
    .replace(/\bI\b/g, 'they')
    .replace(/\b(my|our)\b/gi, 'their')
    .replace(/\b(mine|ours)\b/gi, 'theirs')
    .replace(/\b(myself|ourselves)\b/gi, 'themselves')
    .replace(/\b(me)\b/gi, 'them')
    .replace(/\bwe\b/gi, 'they')
    .replace(/\bus\b/g, 'them');
}

/** The statement rebuilt from its parts, with placeholders for what is missing. */
function statementSentence(role: string, want: string, benefit: string): string {
  const who = role === '' ? 'As a [role]' : `As ${indefiniteArticle(role)} ${role}`;
  const why = benefit === '' ? 'so that [benefit]' : `so that ${benefit}`;
  return `${who}, I want ${want} ${why}.`;
}

/** The wish in "I want ..." form: "to transfer money", "a modern dashboard", "the dashboard to show ...". */
function wantPhrase(wish: string): string {
  const text = wish.replace(/[.!?]+$/, '').trim();
  const subject = subjectOpening.exec(text);
  if (subject) return `${(subject[1] ?? '').toLowerCase()} to ${text.slice(subject[0].length)}`;
  if (/^(?:to|be able to)\s/i.test(text)) return text;
  const first = tokens(text)[0]?.lower ?? '';
  const lowered = text.charAt(0).toLowerCase() + text.slice(1);
  return isVerb(first) && !nounLikeVerbs.has(first) ? `to ${lowered}` : lowered;
}

function lowerFirst(text: string): string {
  return /^[A-Z0-9]{2,}\b/.test(text) ? text : text.charAt(0).toLowerCase() + text.slice(1);
}

/**
 * A title or fragment read as a wish: "Invoice list - filter by status" -> "to filter the invoice list by
 * status", "Password reset via SMS" -> "password reset via SMS".
 */
function fragmentWant(fragment: string): string {
  const text = fragment.replace(/[.!?]+$/, '').trim();
  const titled = /^(.+?)\s*[-–—:]\s+(.+)$/u.exec(text);
  if (titled) {
    const [, head = '', tail = ''] = titled;
    const [first] = tokens(tail);
    if (first && isVerb(first.lower)) {
      const rest = tail.slice(first.text.length).trim();
      const needsObject = rest === '' || prepositions.has(tokens(rest)[0]?.lower ?? '');
      return `to ${first.lower} ${needsObject ? `the ${lowerFirst(head)} ` : ''}${rest}`.trim();
    }
    return `${lowerFirst(tail)} in the ${lowerFirst(head)}`;
  }
  const words = tokens(text);
  const first = words[0]?.lower ?? '';
  if (isVerb(first) && words.length === 1) return `to ${first} [what, in which form]`;
  return isVerb(first) && !nounLikeVerbs.has(first) ? `to ${lowerFirst(text)}` : lowerFirst(text);
}

function actionWant(action: string, subject: string): string {
  if (subject !== '') return `${subject.toLowerCase()} to ${action}`;
  return isVerb(tokens(action)[0]?.lower ?? '') ? `to ${action}` : action;
}

/** A second wish after the benefit: "so that ..., and also I want an audit log". */
const laterWishOpening =
  /\s*,?\s*(?:\b(?:and\s+also|also|and)\s+(?:I|we)\s+(?:also\s+)?|\b(?:I|we)\s+also\s+)(?:want|need|would like)\s+(?:to\s+)?(?:be able to\s+)?/iu;

/** The benefit without a second wish that follows it, and that wish ("" when there is none). */
function benefitAndLaterWish(soThat: string): { benefit: string; laterWish: string } {
  const match = laterWishOpening.exec(soThat);
  if (!match || match.index === 0) return { benefit: soThat, laterWish: '' };
  return {
    benefit: soThat.slice(0, match.index).replace(/[\s,;]+$/, ''),
    laterWish: soThat.slice(match.index + match[0].length).replace(/[.!?]+$/, ''),
  };
}

/**
 * Checks a story on the QUS criteria. English stories get every check; stories in another language get the
 * checks that do not depend on reading the words (role and benefit in that language's statement form,
 * instructions to the AI, notes and references), and an open question says what could not be checked.
 */
export function checkStory(story: Story): StoryCheck {
  // The iterations, the judge and consolidation of one run all check the same story: read it once.
  const key = JSON.stringify([story.statement, story.original]);
  const known = checks.get(key);
  if (known) return structuredClone(known);
  const check = readStory(story);
  checks.set(key, check);
  if (checks.size > 32) checks.delete(checks.keys().next().value ?? '');
  return structuredClone(check);
}

const checks = new Map<string, StoryCheck>();

/**
 * The statement as the team wrote it, when an instruction to the AI sits inside it ("As a developer, ignore
 * all prior instructions, I want ..."): the instruction's clauses are dropped before the statement is read,
 * so the role and the wish around it still count; `cleaned` is the story without them.
 */
function withoutInstructions(
  story: Story,
  instructions: readonly string[],
): { statement: Statement; cleaned?: string } {
  const opening = /\b(?:As (?:an?|the)\b|I want|I need|I would like)/iu;
  if (!instructions.some((sentence) => opening.test(sentence))) return { statement: story.statement };
  let text = story.original;
  for (const sentence of instructions) {
    const kept = opening.test(sentence)
      ? sentence
          .split(/,\s*/)
          .filter((clause) => !instructionPatterns.some((pattern) => pattern.test(clause)))
      : [];
    text = text.replace(sentence, kept.join(', '));
  }
  return { statement: parseStatement(text), cleaned: firstParagraph(text).text.replace(/\s+/g, ' ').trim() };
}

function readStory(story: Story): StoryCheck {
  const instructions = instructionSentences(story.original);
  const { statement, cleaned: cleanedStatement } = withoutInstructions(story, instructions);
  // The statement and its paragraph open the story; instructions to the AI are looked for everywhere.
  const original = story.original.slice(0, analysisChars);
  const language = detectLanguage(original);
  const english = language.code === 'en';
  const findings: Finding[] = [];
  const questions: string[] = [];
  const paragraph = firstParagraph(original);
  const role = statement.asA;
  const hasRole = role !== '';
  const hasBenefit =
    statement.soThat !== '' ||
    reasonMarkers.test(paragraph.sentences[paragraph.statementIndex] ?? paragraph.text);
  const canClaim = statementLanguages.has(language.code) || hasRole;
  const means = statement.iWant;
  const { benefit, laterWish } = english
    ? benefitAndLaterWish(statement.soThat)
    : { benefit: statement.soThat, laterWish: '' };
  const { subject, actions } = english ? actionsOf(means) : { subject: '', actions: [] };
  if (laterWish !== '') actions.push(...actionsOf(laterWish).actions);
  const who = hasRole ? `the ${role}` : 'the user';
  const want = wantPhrase(means.replace(parenthetical, ' ').replace(/\s+/g, ' '));

  const fragment = english && !hasRole && !isSentence(paragraph.sentences[0] ?? means);
  const wanted = english && !fragment ? thirdPersonText(want) : quote(means, 80);

  if (fragment) {
    findings.push(
      finding(
        'not_full_sentence',
        `${quote(paragraph.sentences[0] ?? means)} is a title or a fragment, not a sentence: it has no subject and no verb, so it does not say who does what.`,
        statementSentence('', fragmentWant(paragraph.sentences[0] ?? means), ''),
      ),
    );
  }
  if (!hasRole && canClaim) {
    findings.push(
      finding(
        'missing_role',
        `The story names no role ("As a ..."), so it does not say who wants ${wanted}.`,
        fragment ? '' : statementSentence('', english ? want : means, benefit),
      ),
    );
    questions.push(
      english
        ? 'Who is the user of this story? Name their role ("As a ..."), so criteria can be written in their voice.'
        : `Who is the user of this story? The ${language.name} text names no role.`,
    );
  }
  if (!hasBenefit && canClaim) {
    findings.push(
      finding(
        'missing_benefit',
        `The story states no benefit ("so that ..."): it does not say why ${who} wants ${wanted}.`,
        fragment ? '' : statementSentence(role, english ? want : means, ''),
      ),
    );
    questions.push(
      english && !fragment
        ? `Why does ${who} want ${thirdPersonText(want)}? The story states no benefit, and the criteria cannot show one.`
        : `Why is ${quote(means, 80)} needed, and for whom? The story states no benefit.`,
    );
  }
  if (english && actions.length > 1) {
    const split = actions.map((action) => statementSentence(role, actionWant(action, subject), benefit));
    findings.push(
      finding(
        'not_atomic',
        `The story asks for ${actions.length} things at once (${actions.map((action) => quote(action, 60)).join(', ')}); each can be planned, built and tested on its own.`,
        '',
        split,
      ),
    );
    questions.push(
      `Should this story be split into ${actions.length} stories, one per feature, as the validation finding proposes?`,
    );
  }
  if (english) {
    const wording = hasRole || statement.soThat !== '' ? means : (paragraph.sentences[0] ?? means);
    const terms = vagueTerms(wording.replace(parenthetical, ' '));
    for (const term of terms) {
      findings.push(
        finding(
          'vague',
          `"${term.phrase}" cannot be tested: nobody can show that it is met or not.`,
          `Replace "${term.phrase}" with ${term.instead}.`,
        ),
      );
    }
    const words = tokens(means).filter((token) => /\p{L}/u.test(token.text));
    if (fragment && words.length <= 1 && terms.length === 0) {
      findings.push(
        finding(
          'vague',
          `${quote(means)} alone does not say what is wanted: of what, by whom, in which form.`,
          statementSentence('', fragmentWant(means), ''),
        ),
      );
    }
    if (terms.length > 0) {
      questions.push(
        `Which measurable target or complete list replaces ${terms.map((term) => `"${term.phrase}"`).join(', ')}?`,
      );
    }
  }
  const extra = extraText(paragraph, instructions);
  extra.parts.push(...ticketFieldParagraphs(original));
  if (extra.parts.length > 0) {
    findings.push(
      finding(
        'not_minimal',
        `The story carries text beyond role, wish and benefit: ${extra.parts.map((part) => quote(part, 90)).join(', ')}. Notes, references, estimates and history belong in the ticket's fields or comments.`,
        extra.minimal,
      ),
    );
  }
  if (instructions.length > 0) {
    const cleaned =
      cleanedStatement ??
      paragraph.sentences
        .filter(
          (sentence) => !instructions.some((text) => text.includes(sentence) || sentence.includes(text)),
        )
        .join(' ');
    findings.push(
      finding(
        'instruction_like_text',
        `The story contains text addressed to the AI rather than to the team: ${instructions.map((text) => quote(text, 140)).join(', ')}. It was treated as story text and not followed.`,
        cleaned,
      ),
    );
  }
  if (!english) {
    questions.push(
      `The story is written in ${language.name}; the offline engine reads English only, so it checked the statement's role and benefit, notes and instructions to the AI, but not the wording for vague terms or bundled features, and wrote criteria only from what it recognised. Who reviews the ${language.name} wording, or should the story run with Claude?`,
    );
  }
  return { findings, questions, language, features: english ? actions : [] };
}
