import type { SectionName } from '../catalog';
import type { Patch } from '../patch';
import {
  coverageIdsPerFeature,
  reviewDimensions,
  type ConsolidationOutput,
  type JudgeOutput,
  type ReviewDimension,
  type ReviewIssue,
  type ReviewScores,
  type RewriteOutput,
} from '../review';
import {
  criterionText,
  normalizeText,
  parseCriterionSteps,
  reviewDimensionLabels,
  type Story,
  type StoryItem,
} from '../story';
import { factCriteria, measurableRewrite, storyContext } from './iteration-rules';
import { sentenceProblems } from './grammar-guard';
import { checkStory } from './qus-validation';
import type { StoryFacts } from './story-facts';

/*
 * The offline engine's workflow passes: consolidation after the parallel merge, the whole-story judge, and
 * the rewrite round. The judge reads the text itself (grammar, repeats, contradictions, filler, form,
 * measurability, coverage, invention), so weak output scores low whoever wrote it.
 */

type Criterion = StoryItem & { section: 'outcomeCriteria' | 'systemCriteria' };

function criteriaOf(story: Story): Criterion[] {
  return [
    ...story.outcomeCriteria.map((item) => ({ ...item, section: 'outcomeCriteria' as const })),
    ...story.systemCriteria.map((item) => ({ ...item, section: 'systemCriteria' as const })),
  ];
}

function plainPatch(op: Patch['op'], section: SectionName, target: string, text: string): Patch {
  return { op, section, target, text, topic: '', given: '', when: '', then: '' };
}

export function quote(text: string): string {
  const trimmed = text.replace(/\s+/g, ' ').replace(/"/g, "'").trim();
  return `"${trimmed.length > 100 ? `${trimmed.slice(0, 97).trimEnd()}...` : trimmed}"`;
}

// ---------------------------------------------------------------------------------------------------------
// Meaning: duplicates, filler, vague words, contradictions

const stopWords = new Set(
  'a an the and or of to in on at by for with from is are be been it its they their them this that then when given so as not no can will must should may only each every any all within after before into than i me my mine we us our you your he him his she her'.split(
    ' ',
  ),
);

/** Content words, crudely stemmed, so "transfers are refused" and "the transfer is refused" compare equal. */
export function contentWords(text: string): Set<string> {
  return new Set(
    (text.toLowerCase().match(/[\p{L}\d]+/gu) ?? [])
      .filter((word) => !stopWords.has(word))
      .map((word) => word.replace(/(?:ing|ed|es|s)$/, '')),
  );
}

/** Jaccard similarity of two word sets: 1 when they are the same words. */
export function similarity(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  let shared = 0;
  for (const word of a) if (b.has(word)) shared += 1;
  return shared / (a.size + b.size - shared);
}

/**
 * Whether each of two criteria names something of the story the other does not ("points balance" against
 * "rewards I can claim"): then they test different things, however alike the rest of their wording.
 */
function aboutDifferentThings(a: Set<string>, b: Set<string>, storyWords: ReadonlySet<string>): boolean {
  const namesMore = (one: Set<string>, other: Set<string>) =>
    [...one].some((word) => storyWords.has(word) && !other.has(word));
  return namesMore(a, b) && namesMore(b, a);
}

/** Pairs of criteria that say the same thing: the later one of each pair repeats the earlier. */
function duplicates(items: readonly StoryItem[], story: Story): { item: StoryItem; of: StoryItem }[] {
  const storyWords = contentWords(story.original);
  const words = items.map((item) => contentWords(item.text));
  const found: { item: StoryItem; of: StoryItem }[] = [];
  items.forEach((item, index) => {
    for (let earlier = 0; earlier < index; earlier += 1) {
      const first = items[earlier];
      const a = words[earlier];
      const b = words[index];
      if (
        first &&
        a &&
        b &&
        !found.some((pair) => pair.item.id === first.id) &&
        similarity(a, b) >= 0.8 &&
        !aboutDifferentThings(a, b, storyWords)
      ) {
        found.push({ item, of: first });
        return;
      }
    }
  });
  return found;
}

/**
 * Words no tester can check in a criterion; a quoted word is being defined ("fast", measured as ...), and a
 * name ("3-D Secure") claims nothing.
 */
const vagueInCriteria =
  /(?<!")\b(?:fast|quick|quickly|user-friendly|intuitive|easy|easily|simple|seamless(?:ly)?|everything|etc|robust|reliable|(?<!3-?D )secure|good|better|properly|appropriate|as expected|well tested|modern|nice)\b(?!")/i;

/**
 * Words that tie a criterion to this story: its own words, its stated values, and the vocabulary of the
 * domain packs it is about. A criterion with none of them would fit any story.
 */
function specificVocabulary(story: Story): Set<string> {
  const context = storyContext(story);
  // What the story asks to be sent counts as its own word ("be reminded" asks for a reminder).
  const vocabulary = contentWords(`${story.original} ${context.facts.actor} ${context.facts.received ?? ''}`);
  for (const pack of context.packs) {
    for (const entry of pack.items) {
      for (const word of contentWords(
        `${entry.given ?? ''} ${entry.when ?? ''} ${entry.then ?? ''} ${entry.text ?? ''}`,
      )) {
        vocabulary.add(word);
      }
    }
  }
  return vocabulary;
}

/** Words that are everywhere in specifications and say nothing about this story. */
const genericWords = new Set(
  'system user feature work works expect expected test tested thorough thoroughly good quality fast secure reliable requirement requirements applic application product data correct correctly handle handled properly appropriate behaviour behavior also shown see sees time result'.split(
    ' ',
  ),
);

function isFiller(text: string, vocabulary: ReadonlySet<string>): boolean {
  const words = [...contentWords(text)].filter((word) => !genericWords.has(word));
  return !words.some((word) => vocabulary.has(word));
}

/** The criteria among `texts` that would fit any story: none of this story's words or its domain's. */
export function genericCriteria(story: Story, texts: readonly string[]): string[] {
  const vocabulary = specificVocabulary(story);
  return texts.filter((text) => isFiller(text, vocabulary));
}

/** The vague word a criterion uses, if any. */
export function vagueWord(text: string): string | undefined {
  return vagueInCriteria.exec(text)?.[0];
}

/** What a criterion says that the story rules out. */
function contradiction(text: string, facts: StoryFacts, story: Story): string | undefined {
  const lower = text.toLowerCase();
  if (
    facts.reachesOthers &&
    /\bonly (?:within|to|for|on|in) (?:their|his|her) own\b|\bonly their own\b/.test(lower)
  ) {
    return `the story reaches beyond the actor's own things (${quote(story.statement.iWant)})`;
  }
  if (facts.anonymous && /\bonly (?:a |the )?signed[- ]in\b|\bmust (?:be )?sign(?:ed)? in\b/.test(lower)) {
    return `the story's ${facts.role} has no account`;
  }
  const action = facts.action;
  if (action) {
    const phrase = `${action.verb}${action.object === '' ? '' : ` ${action.object}`}`.toLowerCase();
    const negated = new RegExp(
      `\\b(?:cannot|can not|can't|must not|may not|is not allowed to|are not allowed to|never) ${phrase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`,
    );
    if (negated.test(lower) && !/\b(?:given|if|unless|until|without|before|after|only|while)\b/.test(lower)) {
      return `the story asks that the ${facts.role || 'user'} can ${phrase}`;
    }
  }
  for (const fact of facts.facts) {
    // "below 20%" triggers the story; refusing at that value turns the trigger into a limit it never stated.
    const trigger = fact.comparison === 'above' || fact.comparison === 'below';
    if (
      trigger &&
      lower.includes(fact.value.toLowerCase()) &&
      /\b(?:refused|rejected|not accepted|blocked)\b/.test(lower) &&
      !/\b(?:refus|reject|block|not allowed|cannot|can't|denied|prevent)/i.test(story.original)
    ) {
      return `the story states ${quote(fact.text)} as what triggers it, not as a limit`;
    }
    const stated =
      /(\d[\d,.]*)\s*(seconds?|minutes?|hours?|days?|weeks?|months?|years?|MB|GB|KB|%|EUR|USD|GBP)/i.exec(
        fact.text,
      );
    const anchor = /\b(?:before|after|of|from)\s+(?:each|every|the|a|an)?\s*([\p{L}-]+)/iu
      .exec(fact.text)?.[1]
      ?.toLowerCase();
    if (!stated?.[1] || !stated[2] || !anchor || !lower.includes(anchor)) continue;
    const unit = stated[2].toLowerCase().replace(/s$/, '');
    for (const match of lower.matchAll(
      /(\d[\d,.]*)\s*(seconds?|minutes?|hours?|days?|weeks?|months?|years?|mb|gb|kb|%|eur|usd|gbp)/g,
    )) {
      if ((match[2] ?? '').replace(/s$/, '') === unit && match[1] !== stated[1]) {
        return `the story states ${quote(fact.text)}`;
      }
    }
  }
  return undefined;
}

/**
 * Formats, channels and platforms a criterion may name only when the story does. A media type's suffix
 * (`problem+json`) names an error body, not an export format.
 */
const inventionTerms =
  /(?<![+/])\b(CSV|PDF|XLSX|Excel|JSON|XML|iOS|Android|Apple Pay|Google Pay|PayPal|SMS|WhatsApp|QR code|push notifications?|biometric|Face ID|fingerprint)\b/gi;

function inventions(text: string, storyText: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(inventionTerms)) {
    const term = match[0];
    if (!storyText.toLowerCase().includes(term.toLowerCase().replace(/s$/, ''))) found.add(term);
  }
  return [...found];
}

const measurable =
  /\d|\b(?:refused|rejected|logged|recorded|stored|encrypted|escaped|signed|hashed|once|exactly|never|only|counted|measured|checked|scanned|created|sent|delivered|shown|re-encoded|removed|daily|weekly|each day|each week|per day|per week|per step|401|403|404|409|429|problem\+json|status|state|equals?|fails the build|contract test|expires?|deleted|erased|anonymised|retried|deduplicated|idempotency|audit)\b/i;

// ---------------------------------------------------------------------------------------------------------
// The judge

interface Reading {
  context: ReturnType<typeof storyContext>;
  criteria: Criterion[];
  broken: { item: StoryItem; problems: string[] }[];
  repeats: { item: StoryItem; of: StoryItem }[];
  filler: StoryItem[];
  vague: { item: StoryItem; word: string }[];
  conflicts: { item: StoryItem; reason: string }[];
  invented: { item: StoryItem; terms: string[] }[];
  plain: StoryItem[];
  unmeasurable: StoryItem[];
  uncoveredFacts: string[];
  uncoveredFeatures: string[];
}

/** What the user asked for in a conversation turn is in scope, even when the original story does not name it. */
function askedFor(item: StoryItem): boolean {
  return item.addedBy === 'refinement' || item.changedBy.includes('refinement');
}

function read(story: Story): Reading {
  const context = storyContext(story);
  const { facts } = context;
  const criteria = criteriaOf(story);
  const everything = [...story.behaviour, ...criteria, ...story.openQuestions, ...story.implementationNotes];
  const vocabulary = specificVocabulary(story);
  const allText = everything.map((item) => item.text.toLowerCase()).join('\n');
  const criteriaText = criteria.map((item) => item.text.toLowerCase()).join('\n');
  return {
    context,
    criteria,
    broken: everything
      .filter((item) => item.addedBy !== 'original')
      .map((item) => ({ item, problems: sentenceProblems(item.text) }))
      .filter(({ problems }) => problems.length > 0),
    repeats: duplicates(criteria, story),
    filler: criteria.filter(
      (item) => item.addedBy !== 'original' && !askedFor(item) && isFiller(item.text, vocabulary),
    ),
    vague: criteria.flatMap((item) => {
      const word = vagueInCriteria.exec(item.text)?.[0];
      return word ? [{ item, word }] : [];
    }),
    conflicts: criteria.flatMap((item) => {
      const reason = contradiction(item.text, facts, story);
      return reason ? [{ item, reason }] : [];
    }),
    invented: criteria.flatMap((item) => {
      if (askedFor(item)) return [];
      const terms = inventions(item.text, story.original);
      return terms.length > 0 ? [{ item, terms }] : [];
    }),
    plain: story.outcomeCriteria.filter((item) => item.given === undefined || item.then === undefined),
    unmeasurable: story.systemCriteria.filter((item) => !measurable.test(item.text)),
    uncoveredFacts: facts.facts
      .map((fact) => fact.text)
      .filter(
        (fact) =>
          !allText.includes(fact.toLowerCase()) &&
          !fact.split(/,\s*|\s+and\s+/).every((part) => allText.includes(part.toLowerCase())),
      ),
    uncoveredFeatures: facts.features.filter((feature) => {
      const verb = feature.split(' ')[0]?.toLowerCase() ?? '';
      return verb !== '' && !new RegExp(`\\b${verb}`, 'i').test(criteriaText);
    }),
  };
}

function bounded(score: number): number {
  return Math.max(0, Math.min(5, Math.round(score)));
}

/**
 * Scores the whole specification on the eight review dimensions from what its text shows, naming the items
 * behind each issue.
 */
export function offlineReview(story: Story): JudgeOutput {
  const reading = read(story);
  const check = checkStory(story);
  const kinds = new Set(check.findings.map((finding) => finding.kind));
  const issues: ReviewIssue[] = [];
  const issue = (dimension: ReviewDimension, detail: string, items: readonly StoryItem[] = []): void => {
    issues.push({ dimension, detail, itemIds: items.map((item) => item.id) });
  };
  const scores = Object.fromEntries(reviewDimensions.map((dimension) => [dimension, 5])) as ReviewScores;

  const statementFlaws = (['missing_role', 'missing_benefit', 'not_full_sentence'] as const).filter((kind) =>
    kinds.has(kind),
  );
  for (const kind of statementFlaws)
    issue('wellFormed', check.findings.find((finding) => finding.kind === kind)?.detail ?? kind);
  for (const { item, problems } of reading.broken)
    issue('wellFormed', `Broken sentence (${problems.join('; ')}): ${quote(item.text)}`, [item]);
  scores.wellFormed = bounded(5 - 1.5 * statementFlaws.length - reading.broken.length);

  const questions = story.openQuestions.map((item) => item.text.toLowerCase()).join('\n');
  if (kinds.has('not_atomic')) {
    const proposed = /\bsplit\b/.test(questions);
    issue(
      'atomic',
      proposed
        ? 'The story bundles features; a split is proposed.'
        : 'The story bundles features and no split is proposed.',
    );
    scores.atomic = proposed ? 4 : 1;
  }

  for (const { item, of } of reading.repeats)
    issue('minimal', `Repeats ${of.id} in other words: ${quote(item.text)}`, [item, of]);
  for (const item of reading.filler)
    issue('minimal', `Generic filler that would fit any story: ${quote(item.text)}`, [item]);
  if (kinds.has('not_minimal')) issue('minimal', 'The story carries notes, references or estimates.');
  scores.minimal = bounded(
    5 - reading.repeats.length - reading.filler.length - (kinds.has('not_minimal') ? 1 : 0),
  );

  for (const { item, word } of reading.vague)
    issue('unambiguous', `"${word}" cannot be tested: ${quote(item.text)}`, [item]);
  if (kinds.has('vague')) issue('unambiguous', 'The story itself uses vague wording.');
  scores.unambiguous = bounded(
    5 - reading.vague.length - (kinds.has('vague') ? 1 : 0) - reading.broken.length,
  );

  const outcomes = story.outcomeCriteria.length;
  for (const item of reading.plain)
    issue('testableOutcome', `Not in Given/When/Then form: ${quote(item.text)}`, [item]);
  if (outcomes === 0)
    issue(
      'testableOutcome',
      `No outcome criterion says what ${reading.context.facts.actor} sees when it works.`,
    );
  scores.testableOutcome = outcomes === 0 ? 2 : bounded(5 * (1 - reading.plain.length / outcomes));

  const systems = story.systemCriteria.length;
  for (const item of reading.unmeasurable)
    issue(
      'testableSystem',
      `Not measurable (no number, state, status code or log entry): ${quote(item.text)}`,
      [item],
    );
  scores.testableSystem = systems === 0 ? 3 : bounded(5 * (1 - reading.unmeasurable.length / systems));

  for (const fact of reading.uncoveredFacts)
    issue('completeWithoutInvention', `The story states ${quote(fact)}, and no item checks it.`);
  for (const feature of reading.uncoveredFeatures)
    issue('completeWithoutInvention', `No criterion covers ${quote(feature)}.`);
  for (const { item, terms } of reading.invented)
    issue(
      'completeWithoutInvention',
      `Names ${terms.join(', ')}, which the story does not ask for: ${quote(item.text)}`,
      [item],
    );
  const criteriaCount = reading.criteria.length;
  scores.completeWithoutInvention = bounded(
    (criteriaCount === 0 ? 1 : 5) -
      reading.uncoveredFacts.length -
      reading.uncoveredFeatures.length -
      reading.invented.length,
  );
  if (criteriaCount === 0) issue('completeWithoutInvention', 'The specification has no acceptance criteria.');

  for (const { item, reason } of reading.conflicts)
    issue('consistentWithStory', `Contradicts the story: ${reason}: ${quote(item.text)}`, [item]);
  scores.consistentWithStory = bounded(5 - 2 * reading.conflicts.length);

  // What the offline engine cannot read it cannot vouch for: a person (or Claude) checks it, never "approve".
  const { facts } = reading.context;
  if (facts.english && !facts.action) {
    issue(
      'completeWithoutInvention',
      `The offline engine could not read what ${facts.actor} wants to do in ${quote(story.statement.iWant)}: the criteria cover only what it recognised.`,
    );
    scores.completeWithoutInvention = Math.min(scores.completeWithoutInvention, 2);
  }
  if (!facts.english) {
    const unread = `The story is in ${facts.language.name}, which the offline engine does not read`;
    issue('completeWithoutInvention', `${unread}: nobody checked that the criteria cover it.`);
    issue('consistentWithStory', `${unread}: nobody checked the criteria against it.`);
    scores.completeWithoutInvention = Math.min(scores.completeWithoutInvention, 2);
    scores.consistentWithStory = Math.min(scores.consistentWithStory, 2);
  }

  const weakest = reviewDimensions.filter((dimension) => scores[dimension] < 4);
  return {
    scores,
    issues,
    summary:
      weakest.length === 0
        ? `${criteriaCount} criteria checked: well formed, specific, testable and consistent with the story.`
        : `${criteriaCount} criteria checked; weakest on ${weakest.map((dimension) => reviewDimensionLabels[dimension].toLowerCase()).join(', ')} (${issues.length === 1 ? '1 issue' : `${issues.length} issues`}).`,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Consolidation

/**
 * The ids of the criteria that cover a feature most directly, at most `coverageIdsPerFeature`: those sharing
 * the most of the feature's words, outcome criteria before system criteria on a tie. Words that every feature
 * of the story shares (its actor's verb, e.g. "see") do not tell the features apart, so they do not count.
 */
function coveringItems(
  feature: string,
  criteria: readonly Criterion[],
  shared: ReadonlySet<string>,
): string[] {
  const words = [...contentWords(feature)].filter((word) => !shared.has(word));
  return criteria
    .map((item, index) => {
      const text = contentWords(item.text);
      return { item, index, overlap: words.filter((word) => text.has(word)).length };
    })
    .filter((entry) => entry.overlap > 0)
    .sort(
      (a, b) =>
        b.overlap - a.overlap ||
        Number(a.item.section === 'systemCriteria') - Number(b.item.section === 'systemCriteria') ||
        a.index - b.index,
    )
    .slice(0, coverageIdsPerFeature)
    .map((entry) => entry.item.id);
}

/**
 * After the parallel merge: removes criteria that repeat another in other words and criteria that contradict
 * the story (each contradiction becomes an open question: the story wins), maps each feature of the story to
 * the criteria covering it, and proposes a split for a compound story unless validation already did.
 */
export function offlineConsolidation(
  story: Story,
  proposedSplit: readonly string[] = [],
): ConsolidationOutput {
  const reading = read(story);
  const patches: Patch[] = [];
  const removed = new Set<string>();
  const remove = (item: Criterion | StoryItem, section: SectionName): void => {
    if (removed.has(item.id) || item.addedBy === 'original') return;
    removed.add(item.id);
    patches.push(plainPatch('remove', section, item.id, ''));
  };
  const sectionOf = (item: StoryItem): SectionName =>
    story.outcomeCriteria.some((candidate) => candidate.id === item.id)
      ? 'outcomeCriteria'
      : 'systemCriteria';
  for (const { item } of reading.repeats) remove(item, sectionOf(item));
  const known = new Set(story.openQuestions.map((item) => normalizeText(item.text)));
  for (const { item, reason } of reading.conflicts) {
    remove(item, sectionOf(item));
    const question = `A proposed criterion contradicted the story (${reason}) and was removed: ${quote(item.text)}. Which is right?`;
    if (!known.has(normalizeText(question))) patches.push(plainPatch('add', 'openQuestions', '', question));
  }
  const { facts } = reading.context;
  const features = facts.features.length > 0 ? facts.features : facts.action ? [facts.action.phrase] : [];
  const kept = reading.criteria.filter((item) => !removed.has(item.id));
  const featureWords = features.map((feature) => contentWords(feature));
  const sharedByAll = new Set(
    features.length > 1
      ? [...(featureWords[0] ?? [])].filter((word) => featureWords.every((words) => words.has(word)))
      : [],
  );
  const coverage = features.map((feature) => ({
    feature,
    itemIds: coveringItems(feature, kept, sharedByAll),
  }));
  const split =
    proposedSplit.length > 0
      ? []
      : (checkStory(story).findings.find((finding) => finding.kind === 'not_atomic')?.split ?? []);
  return {
    summary: `Removed ${reading.repeats.length} repeated and ${reading.conflicts.length} contradicting criteria; ${coverage.filter((entry) => entry.itemIds.length > 0).length} of ${coverage.length} features covered.`,
    patches,
    coverage,
    split,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Rewrite

/** "If the amount is negative, the transfer is refused." -> Given/When/Then; undefined when it has no condition. */
function toSteps(text: string, actor: string): { given: string; when: string; then: string } | undefined {
  const match = /^(?:if|when|once|after|whenever)\s+(.+?),\s*(.+?)[.\s]*$/i.exec(text.trim());
  if (!match?.[1] || !match[2]) return undefined;
  return { given: `${actor} is using this feature`, when: match[1], then: match[2] };
}

/**
 * One rewrite round for the judge's issues: what rules can fix is fixed (plain criteria become Given/When/Then
 * where they state a condition, repeats, filler, contradictions and invented items are removed, vague words get
 * a measure, uncovered facts get their criteria); everything else becomes an open question for the product
 * owner.
 */
export function offlineRewrite(story: Story, issues: readonly ReviewIssue[]): RewriteOutput {
  const context = storyContext(story);
  const byId = new Map(criteriaOf(story).map((item) => [item.id, item]));
  const patches: Patch[] = [];
  const touched = new Set<string>();
  const questions = new Set(story.openQuestions.map((item) => normalizeText(item.text)));
  const ask = (text: string): void => {
    if (questions.has(normalizeText(text))) return;
    questions.add(normalizeText(text));
    patches.push(plainPatch('add', 'openQuestions', '', text));
  };
  let fixed = 0;
  for (const issue of issues) {
    const item = issue.itemIds.map((id) => byId.get(id)).find((candidate) => candidate !== undefined);
    if (item && touched.has(item.id)) continue;
    const drop = (): void => {
      if (!item || item.addedBy === 'original') return;
      touched.add(item.id);
      patches.push(plainPatch('remove', item.section, item.id, ''));
      fixed += 1;
    };
    switch (issue.dimension) {
      case 'minimal':
        if (item && /^(?:Repeats|Generic filler)/.test(issue.detail)) drop();
        break;
      case 'consistentWithStory':
        drop();
        if (item)
          ask(
            `A criterion contradicted the story and was removed: ${quote(item.text)}. What should happen instead?`,
          );
        break;
      case 'completeWithoutInvention':
        if (item) {
          drop();
          ask(
            `A criterion named something the story does not ask for and was removed: ${quote(item.text)}. Is it in scope?`,
          );
        }
        break;
      case 'testableOutcome': {
        if (!item || item.section !== 'outcomeCriteria') break;
        const steps = parseCriterionSteps(item.text) ?? toSteps(item.text, context.facts.actor);
        if (steps) {
          touched.add(item.id);
          patches.push({
            op: 'replace',
            section: 'outcomeCriteria',
            target: item.id,
            text: criterionText(steps),
            topic: '',
            ...steps,
          });
          fixed += 1;
        } else {
          ask(
            `Which situation, action and observable result does ${quote(item.text)} mean, as Given/When/Then?`,
          );
        }
        break;
      }
      case 'unambiguous': {
        const wording = item ? measurableRewrite(item.text, context.facts.role) : undefined;
        if (item && wording) {
          touched.add(item.id);
          patches.push(plainPatch('replace', item.section, item.id, wording));
          fixed += 1;
        } else if (item) {
          ask(`Which measurable target replaces the vague wording in ${quote(item.text)}?`);
        }
        break;
      }
      case 'testableSystem':
        if (item)
          ask(`How is ${quote(item.text)} measured: which number, state, status code or log entry shows it?`);
        break;
      default:
        break;
    }
  }
  const missing = issues.filter(
    (issue) => issue.dimension === 'completeWithoutInvention' && /^The story states/.test(issue.detail),
  );
  if (missing.length > 0) {
    const existing = new Set(criteriaOf(story).map((item) => normalizeText(item.text)));
    for (const patch of factCriteria(story)) {
      if (existing.has(normalizeText(patch.text))) continue;
      patches.push(patch);
      fixed += 1;
    }
  }
  return {
    summary: `Fixed ${fixed} issue(s) by rule; raised ${patches.filter((patch) => patch.section === 'openQuestions').length} as open questions.`,
    patches,
  };
}
