import { getIteration, type IterationId, type SectionName } from '../catalog';
import type { Finding, IterationOutput, Patch } from '../patch';
import { allItems, indefiniteArticle, type Story } from '../story';
import { joinList, storyFacts, type StoryFacts } from './story-facts';

/** Phrases derived once per story so every rule words things the same way. */
interface Words {
  facts: StoryFacts;
  story: Story;
  role: string;
  /** "a patient" / "an accountant". */
  aRole: string;
  roles: string;
  /** Every action on the object: "book, move or cancel the appointment", "pay for the basket". */
  doAll: string;
  /** The first action only: "book the appointment". */
  doOne: string;
  verb: string;
  theObject: string;
  /** "it" or "them", for the object. */
  it: string;
  /** Looking at something (see, search, view): no submissions, confirmations or double submits. */
  readOnly: boolean;
  /** The story moves money: amounts, limits and strong customer authentication apply. */
  movesMoney: boolean;
  /** The story is about signing in or recovering access, so the user is not signed in yet. */
  signingIn: boolean;
  /** The role is anonymous (a visitor or guest): no account, no ownership. */
  anonymous: boolean;
  /** "screen", "page", "window" or "endpoint" depending on the product type. */
  surface: string;
  api: boolean;
}

const readVerbs = new Set([
  'see',
  'view',
  'browse',
  'list',
  'show',
  'search',
  'find',
  'read',
  'watch',
  'display',
  'compare',
  'track',
]);
const moneyVerbs = new Set([
  'transfer',
  'pay',
  'send',
  'withdraw',
  'deposit',
  'refund',
  'buy',
  'order',
  'top up',
]);

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function words(story: Story): Words {
  const facts = storyFacts(story);
  const surfaces = {
    web: 'page',
    'mobile-web': 'page',
    'mobile-native': 'screen',
    desktop: 'window',
    api: 'endpoint',
  };
  const preposition = facts.objectPreposition === '' ? '' : ` ${facts.objectPreposition}`;
  const theObject = `the ${facts.object}`;
  const verb = facts.verbs[0] ?? 'use';
  return {
    facts,
    story,
    role: facts.role,
    aRole: `${indefiniteArticle(facts.role)} ${facts.role}`,
    roles: `${facts.role}s`,
    doAll: `${joinList(facts.verbs, 'or')}${preposition} ${theObject}`,
    doOne: `${verb}${preposition} ${theObject}`,
    verb,
    theObject,
    it: /[^s]s$/.test(facts.object) ? 'them' : 'it',
    readOnly: facts.verbs.every((candidate) => readVerbs.has(candidate)),
    movesMoney: facts.mentions.has('money') && facts.verbs.some((candidate) => moneyVerbs.has(candidate)),
    signingIn:
      facts.mentions.has('passwordReset') ||
      facts.verbs.some((candidate) => /^(log|sign) in$/.test(candidate)),
    anonymous: /\b(visitor|guest|anonymous|passer-by)\b/.test(facts.role),
    surface: surfaces[story.productType],
    api: story.productType === 'api',
  };
}

class Draft {
  readonly patches: Patch[] = [];
  readonly findings: Finding[] = [];

  add(section: SectionName, text: string, topic = ''): void {
    this.patches.push({
      op: 'add',
      section,
      target: '',
      text,
      topic: section === 'implementationNotes' ? topic : '',
      given: '',
      when: '',
      then: '',
    });
  }

  outcome(text: string): void {
    this.add('outcomeCriteria', text);
  }

  system(text: string): void {
    this.add('systemCriteria', text);
  }

  note(topic: string, text: string): void {
    this.add('implementationNotes', text, topic);
  }

  question(text: string): void {
    this.add('openQuestions', text);
  }

  replace(section: SectionName, target: string, text: string): void {
    this.patches.push({ op: 'replace', section, target, text, topic: '', given: '', when: '', then: '' });
  }
}

/** How a vague word in an existing criterion becomes something a tester can check. */
const measurableWording: { pattern: RegExp; wording: (w: Words) => string }[] = [
  { pattern: /\b(fast|quick(ly)?)\b/i, wording: () => 'within 2 seconds for 95% of requests' },
  {
    pattern: /\b(user-friendly|user friendly|intuitive|easy|easily|simple)\b/i,
    wording: (w) => `so that 4 of 5 first-time ${w.roles} manage it without help in a usability test`,
  },
  { pattern: /\beverything\b/i, wording: () => 'covering exactly the items listed in this story, no others' },
];

type Rule = (w: Words, draft: Draft) => void;

const userRoles: Rule = (w, d) => {
  if (w.signingIn) {
    d.outcome(
      `${capitalize(w.aRole)} who is not signed in can ${w.doAll}, but only for the account they prove they own (through its email address or credentials).`,
    );
    d.outcome(
      `${capitalize(w.aRole)} is never told whether an email address has an account: a wrong address and a wrong password give the same message.`,
    );
  } else if (w.anonymous) {
    d.outcome(
      `${capitalize(w.aRole)} can ${w.doAll} without signing in; nothing they do requires or creates an account.`,
    );
    d.outcome(
      `What ${w.aRole} sees never includes data reserved for signed-in customers, such as personal prices or saved items.`,
    );
  } else if (w.api) {
    d.outcome(
      `Only an authenticated ${w.role} can ${w.doAll}; a request without valid credentials is refused with 401 and changes nothing.`,
    );
  } else {
    d.outcome(
      `Only a signed-in ${w.role} can ${w.doAll}; someone who is not signed in is asked to sign in and then returns to the same step.`,
    );
  }
  if (!w.signingIn && !w.anonymous) {
    d.outcome(
      w.readOnly
        ? `${capitalize(w.aRole)} sees only their own ${w.facts.object}; asking for another ${w.role}'s is answered as "not found".`
        : `${capitalize(w.aRole)} can ${w.doAll} only within their own account; attempts on another account are answered as "not found" and change nothing.`,
    );
  }
  d.system(
    `Permission to ${w.doAll} is checked on the server for every request, based on the ${w.role}'s identity and role, not only by hiding controls.`,
  );
  if (w.facts.otherRoles.length > 0) {
    d.outcome(
      `Each role (${joinList(w.facts.otherRoles, 'and')}) has a documented set of permissions; only the ${w.role} can change which role a person has, and a change takes effect at their next request.`,
    );
  }
  d.question(
    `Besides the ${w.role}, which roles (for example support staff or administrators) may ${w.doAll} on ${w.aRole}'s behalf, and what may each of them see?`,
  );
};

const interactiveElements: Rule = (w, d) => {
  const preposition = w.facts.objectPreposition === '' ? '' : ` ${w.facts.objectPreposition}`;
  const actions =
    w.facts.features.length > 1
      ? w.facts.features
      : w.facts.verbs.map((verb) => `${verb}${preposition} ${w.facts.object}`);
  const labels = actions.map((action) => `"${capitalize(action)}"`);
  d.add(
    'behaviour',
    `The ${w.surface} offers one clearly labelled control per action: ${joinList(labels, 'and')}.`,
  );
  if (w.readOnly) {
    d.outcome(
      `While ${w.theObject} loads, a placeholder keeps the layout stable; if loading fails, a message and a "Try again" control appear instead of empty or zero values.`,
    );
    d.outcome(
      `The ${w.role} can refresh ${w.theObject}, and the ${w.surface} shows when it was last updated.`,
    );
  } else {
    d.outcome(
      `After the ${w.role} confirms ${labels[0] ?? 'the action'}, the ${w.surface} shows what changed and what happens next, without a full reload.`,
    );
    d.outcome(
      `While a request to ${w.doOne} is in progress its control is disabled and shows progress, so a double click or tap cannot ${w.doOne} twice.`,
    );
  }
  const destructive = w.facts.verbs.find((verb) =>
    /^(cancel|delete|remove|revoke|withdraw|transfer|pay)$/.test(verb),
  );
  if (destructive) {
    d.outcome(
      `Before the ${w.role} can ${destructive}${w.facts.objectPreposition === '' ? '' : ` ${w.facts.objectPreposition}`} ${w.theObject}, a summary asks them to confirm; nothing happens until they confirm, and they can go back without losing their input.`,
    );
  }
  d.note(
    'Interaction',
    `Use the platform's native inputs (date pickers, selects, file pickers) in the ${w.facts.object} flow rather than custom widgets.`,
  );
};

function storyDefects(w: Words, d: Draft): void {
  const { facts } = w;
  if (!facts.hasStatement) {
    d.findings.push({
      kind: 'missing_role',
      detail: `The story names no role ("As a ..."); it seems to be about the ${w.role}.`,
      suggestion: '',
      split: [],
    });
    d.question(`Who exactly is the user of this story? Rewrite it as "As a <role>, I want ... so that ...".`);
  }
  if (facts.benefit === '') {
    d.findings.push({
      kind: 'missing_benefit',
      detail: `The story states no benefit ("so that ..."): why does the ${w.role} want to ${facts.goal}?`,
      suggestion: '',
      split: [],
    });
    d.question(`What benefit does the ${w.role} get when they ${facts.goal}? Add a "so that" clause.`);
  }
  if (facts.features.length > 1) {
    d.findings.push({
      kind: 'not_atomic',
      detail: `The story combines ${facts.features.length} features (${facts.features.join('; ')}).`,
      suggestion: '',
      split: [],
    });
    d.question(`Should this story be split into one story per feature: ${facts.features.join('; ')}?`);
  }
  for (const term of facts.vagueTerms) {
    d.findings.push({
      kind: 'vague',
      detail: `"${term}" is vague: replace it with an observable behaviour or a measurable target.`,
      suggestion: '',
      split: [],
    });
  }
  if (facts.vagueTerms.length > 0) {
    const quoted = facts.vagueTerms.map((term) => `"${term}"`);
    d.question(
      `What exactly is meant by ${joinList(quoted, 'and')}? Each needs a measurable target or a concrete list.`,
    );
  }
  if (facts.mentions.has('injection')) {
    d.findings.push({
      kind: 'instruction_like_text',
      detail:
        'The story contains text addressed to the assistant (instructions to ignore rules or reveal prompts); it was treated as story text only.',
      suggestion: '',
      split: [],
    });
  }
}

const validation: Rule = (w, d) => {
  storyDefects(w, d);
  for (const section of ['outcomeCriteria', 'systemCriteria'] as const) {
    for (const item of w.story[section]) {
      const rule = measurableWording.find(({ pattern }) => pattern.test(item.text));
      if (!rule) continue;
      const quoted = item.text.replace(/[.\s]+$/, '').replace(rule.pattern, '"$&"');
      d.replace(section, item.id, `${quoted}, measured as: ${rule.wording(w)}.`);
    }
  }
  d.outcome(
    w.api
      ? `A request to ${w.doOne} with a required value missing or malformed is refused with 400 and a problem+json body naming the field; nothing is stored.`
      : w.readOnly
        ? `If ${w.theObject} cannot be loaded or is incomplete, the ${w.role} is told so and offered a retry, rather than shown zero or an empty list.`
        : `If the ${w.role} tries to ${w.doOne} with a required value missing or malformed, the value is highlighted with a message that says how to fix it, and nothing is submitted.`,
  );
  d.system(
    `The server validates every request to ${w.doAll} independently of the client and rejects invalid input with an error naming the field.`,
  );
  const m = w.facts.mentions;
  if (w.movesMoney) {
    d.outcome(
      `An amount to ${w.verb} must be greater than zero, have at most two decimals and stay within the ${w.role}'s available balance and limits; otherwise the ${w.role} sees why and nothing moves.`,
    );
  }
  if (m.has('credentials') || m.has('invitation')) {
    d.outcome(
      `An email address without "@" and a domain is refused next to the field before the ${w.role} can ${w.doOne}.`,
    );
  }
  if (m.has('upload')) {
    d.outcome(
      `Only JPEG, PNG or HEIC images up to 10 MB are accepted for the ${w.facts.object}; other files are refused with the allowed types and size.`,
    );
  }
  if (m.has('schedule')) {
    d.outcome(
      `Only future time slots that are still free can be chosen to ${w.doAll}; a slot taken meanwhile is refused and the next free slots are offered.`,
    );
  }
  if (m.has('search')) {
    d.outcome(
      `Filter values that contradict each other (such as a minimum price above the maximum) are flagged before the ${w.role} can ${w.doOne}.`,
    );
  }
  if (m.has('webhook')) {
    d.system(
      `Only absolute https URLs are accepted when ${w.aRole} asks to ${w.verb} a ${w.facts.object}; a URL that fails a test delivery is refused with the status it returned.`,
    );
  }
  if (m.has('export')) {
    d.outcome(
      `Asking to ${w.doOne} for a period with no data gives a clear "nothing to ${w.verb}" message instead of an empty file.`,
    );
  }
};

const accessibility: Rule = (w, d) => {
  const native = w.story.productType === 'mobile-native';
  d.outcome(
    native
      ? `With VoiceOver (iOS) or TalkBack (Android), the ${w.role} can ${w.doAll}: every control has a spoken name, role and state.`
      : `Every control needed to ${w.doAll} can be reached and operated with the keyboard alone, in a logical order, with a visible focus indicator.`,
  );
  d.outcome(
    w.readOnly
      ? `A screen-reader user hears ${w.theObject} in a meaningful order, with headings and labels, and is told when ${w.it === 'it' ? 'it changes' : 'they change'}.`
      : `A screen-reader user is told the result after they ${w.doOne} (announced without moving focus), including errors.`,
  );
  d.outcome(
    `Errors while the ${w.role} tries to ${w.doOne} are described in text next to the field and linked to it, never by colour alone; text contrast is at least 4.5:1.`,
  );
  if (w.facts.mentions.has('screenReader')) {
    d.note(
      'Accessibility',
      `The product owner notes that some ${w.roles} use screen readers: test the ${w.facts.object} flow with NVDA, JAWS, VoiceOver and TalkBack before release.`,
    );
  } else {
    d.note(
      'Accessibility',
      `Check the ${w.facts.object} flow against WCAG 2.2 AA with an automated scan and a manual screen-reader pass.`,
    );
  }
};

const performance: Rule = (w, d) => {
  d.outcome(
    w.readOnly
      ? `When the ${w.role} asks to ${w.doOne}, the result is shown within 2 seconds for 95% of requests at expected peak load.`
      : `When the ${w.role} asks to ${w.doOne}, the confirmation appears within 2 seconds for 95% of requests at expected peak load.`,
  );
  d.system(
    `Requests to ${w.doAll} are served within 500 ms at the 95th percentile at 10 times today's peak of concurrent ${w.roles}, shown by a load test before release.`,
  );
  if (w.facts.timeTarget !== '') {
    d.outcome(
      `In usability tests, a returning ${w.role} can ${w.facts.goal} in ${w.facts.timeTarget}, as the story promises.`,
    );
  }
  if (w.story.productType === 'mobile-native' || w.story.productType === 'mobile-web') {
    d.outcome(
      `On a slow mobile connection (400 kbps, 300 ms latency) the ${w.role} can still ${w.doOne} within 5 seconds.`,
    );
  }
  if (w.facts.mentions.has('export') || w.facts.mentions.has('search')) {
    d.system(
      `With 10,000 records, a request to ${w.doOne} completes within 10 seconds and large results are paginated or streamed.`,
    );
  }
  const vague = w.facts.vagueTerms.filter((term) => /fast|quick/.test(term));
  if (vague.length > 0) {
    d.note(
      'Performance',
      `The story's ${vague.map((term) => `"${term}"`).join(', ')} is made measurable by the targets above; confirm them with the product owner.`,
    );
  }
};

const security: Rule = (w, d) => {
  const m = w.facts.mentions;
  if (w.signingIn) {
    d.system(
      `Credentials used to ${w.doOne} travel only over TLS, passwords are stored only as a slow salted hash (Argon2id or bcrypt), and success starts a fresh session.`,
    );
  } else if (w.anonymous) {
    d.system(
      `Requests to ${w.doAll} are rate-limited per client (for example 60 a minute) so the ${w.facts.object} cannot be scraped or overloaded.`,
    );
  } else {
    d.system(
      `Only the authenticated ${w.role} may ${w.doAll}, and only within their own account; any other request is answered as if ${w.theObject} did not exist.`,
    );
  }
  d.system(
    `Every successful or refused attempt to ${w.doAll} is written to a tamper-evident audit log with the ${w.role}'s id, time and source, without secrets.`,
  );
  d.outcome(
    w.readOnly && w.facts.mentions.has('search')
      ? `Text the ${w.role} types to ${w.doOne} is escaped wherever it is shown again, so the ${w.surface} never runs script or markup from it.`
      : w.readOnly
        ? `After the ${w.role} signs out, ${w.theObject} cannot be seen again on the same device: responses are sent with no-store caching.`
        : `After 5 failed attempts to ${w.doOne} within 15 minutes, further attempts by that ${w.role} are slowed down and the ${w.role} is told when to try again.`,
  );
  if (w.movesMoney) {
    d.system(
      `A request to ${w.doOne} above a configurable amount, or to a new recipient, requires strong customer authentication before it is executed.`,
    );
  }
  if (m.has('payment')) {
    d.system(
      `Card data never reaches our servers: the ${w.role}'s saved card or wallet is charged through the payment provider's tokens, and only after the ${w.role} confirms.`,
    );
  }
  if (m.has('passwordReset')) {
    d.system(
      `The link to ${w.doOne} is single-use and expires after 30 minutes, and the ${w.surface} shows the same message whether or not the address has an account.`,
    );
  }
  if (m.has('upload')) {
    d.system(
      `An uploaded ${w.facts.object} is checked by its content (not its name), re-encoded and stripped of location metadata before other ${w.roles} can see it.`,
    );
  }
  if (m.has('webhook')) {
    d.system(
      `Each event sent to a ${w.facts.object} is signed (HMAC-SHA256 with a per-${w.role} secret) and time-stamped so the receiver can reject forgeries and replays.`,
    );
  }
  d.question(
    `Which personal data is processed to ${w.doAll}, how long is it kept, and who may export or delete it (GDPR)?`,
  );
};

const responsiveWeb: Rule = (w, d) => {
  d.outcome(
    `From 320 px wide upwards, the ${w.role} can ${w.doAll} without horizontal scrolling, and every control is at least 44 by 44 px.`,
  );
  d.outcome(
    `At 200% browser zoom or after rotating the device, the ${w.facts.object} ${w.surface} keeps the ${w.role}'s input and every control needed to ${w.doOne}.`,
  );
  d.add(
    'behaviour',
    `On wide screens (1024 px and up) ${w.theObject} and the controls to ${w.doAll} sit side by side; on small screens they stack in task order.`,
  );
  if (w.story.productType === 'mobile-web') {
    d.outcome(
      `On mobile browsers the on-screen keyboard never covers the control to ${w.doOne}, and inputs open the matching keyboard (numeric, email).`,
    );
  }
};

const responsiveNative: Rule = (w, d) => {
  d.outcome(
    `On phones and tablets, in portrait and landscape, the ${w.role} can ${w.doAll} with every control inside the safe area.`,
  );
  d.outcome(
    `With the largest system text size, every label and value in the ${w.facts.object} flow stays readable without truncation or overlap.`,
  );
  d.outcome(
    `If the app goes to the background or loses connectivity while the ${w.role} is about to ${w.doOne}, their input is kept, they can resume, and nothing is submitted twice.`,
  );
  d.note(
    'Native layout',
    `Provide a two-pane tablet layout for the ${w.facts.object} flow; test on the smallest supported phone.`,
  );
};

const languageSupport: Rule = (w, d) => {
  const languages = w.facts.languages;
  const where = languages.length > 0 ? joinList(languages, 'and') : 'each supported language';
  d.outcome(
    `Every text the ${w.role} sees while they ${w.doAll}, including errors and confirmations, is available in ${where}, and switching language keeps their input.`,
  );
  d.system(
    `All texts shown while the ${w.role} tries to ${w.doAll} come from translation resources; a missing translation falls back to the default language and is reported.`,
  );
  d.outcome(
    `Labels on the ${w.facts.object} ${w.surface} leave room for translations 35% longer than English without truncation.`,
  );
  if (languages.length === 0) {
    d.question(
      `Which languages must the ${w.facts.object} flow support at launch, and does any need a right-to-left layout?`,
    );
  }
};

const localeFormatting: Rule = (w, d) => {
  const m = w.facts.mentions;
  if (w.api) {
    d.system(
      `The API accepts and returns ISO 8601 timestamps with an offset in every ${w.facts.object} payload and never localised date or number strings.`,
    );
  } else if (m.has('schedule')) {
    d.outcome(
      `Dates and times of ${w.theObject} are shown in the ${w.role}'s locale and time zone (for example 14/03/2027 14:30 in fr-BE, 3/14/2027 2:30 PM in en-US).`,
    );
  } else {
    d.outcome(
      `Numbers, dates and amounts shown while the ${w.role} tries to ${w.doOne} follow the ${w.role}'s locale (1 234,56 in fr-BE, 1,234.56 in en-US).`,
    );
  }
  d.system(
    m.has('money')
      ? `Dates and amounts related to ${w.theObject} are stored and exchanged in locale-neutral form (UTC ISO 8601 timestamps, ISO 4217 currency codes, unformatted decimals) and formatted only for display.`
      : `Dates and numbers related to ${w.theObject} are stored and exchanged in locale-neutral form (UTC ISO 8601 timestamps, unformatted numbers) and formatted only for display.`,
  );
  if (w.movesMoney) {
    d.outcome(
      `Amounts shown while the ${w.role} tries to ${w.doOne} carry their currency in the position and format of the ${w.role}'s locale, never a hard-coded symbol.`,
    );
  }
  if (w.facts.places.length > 0) {
    d.outcome(
      `In ${joinList(w.facts.places, 'and')}, the ${w.facts.object} flow follows each region's conventions for dates, times and the first day of the week.`,
    );
  } else {
    d.note(
      'Locale',
      `Derive the ${w.role}'s locale from their profile, then the ${w.api ? 'Accept-Language header' : 'device or browser'}.`,
    );
  }
};

const culturalAppropriateness: Rule = (w, d) => {
  d.outcome(
    `Name and address fields used when the ${w.role} tries to ${w.doOne} accept any script, single names and long names, with no forced first/last name order.`,
  );
  d.outcome(
    `Icons, colours and imagery used to ${w.doAll} carry no meaning that differs by culture (for example red/green or hand gestures), reviewed for each target market.`,
  );
  if (w.facts.places.length > 0) {
    d.note(
      'Cultural review',
      `Have the ${w.facts.object} texts and examples reviewed by a native speaker for ${joinList(w.facts.places, 'and')} before launch.`,
    );
  }
  d.question(
    `Are there markets where the way to ${w.doAll}, or its wording, needs local legal or cultural adaptation?`,
  );
};

const analytics: Rule = (w, d) => {
  d.system(
    `Events "${w.facts.object}: ${w.verb} started", "completed" and "failed" are recorded with duration and platform, without personal data, for every attempt to ${w.doAll}.`,
  );
  d.system(
    w.facts.benefit !== ''
      ? `A weekly report shows whether the story delivers its benefit (${w.facts.benefit}): the share of ${w.roles} who start and then successfully ${w.doOne}.`
      : `A weekly report shows the share of ${w.roles} who start and then successfully ${w.doOne}, as the story's success measure.`,
  );
  d.system(
    `Failed attempts to ${w.doAll} are counted by error category so the most frequent causes can be fixed first.`,
  );
  d.question(`Which completion rate for attempts to ${w.doAll} counts as success, and who reviews it?`);
};

const rules: Record<IterationId, Rule> = {
  'user-roles': userRoles,
  'interactive-elements': interactiveElements,
  validation,
  accessibility,
  performance,
  security,
  'responsive-web': responsiveWeb,
  'responsive-native': responsiveNative,
  'language-support': languageSupport,
  'locale-formatting': localeFormatting,
  'cultural-appropriateness': culturalAppropriateness,
  analytics,
};

/**
 * The offline engine's answer to one iteration: criteria built from the story's own actor, actions and objects.
 * Items already in the story are left out, so a re-run proposes nothing twice. Verification feedback is kept as
 * open questions (or notes), so nothing a reviewer raised gets lost.
 */
export function offlineIteration(
  story: Story,
  iterationId: IterationId,
  feedback: readonly string[],
): IterationOutput {
  const w = words(story);
  const draft = new Draft();
  rules[iterationId](w, draft);
  const existing = new Set(allItems(story).map((item) => item.text));
  const patches = draft.patches.filter((patch) => !existing.has(patch.text));
  const reviewSection = getIteration(iterationId).sections.includes('openQuestions')
    ? 'openQuestions'
    : 'implementationNotes';
  for (const issue of feedback) {
    patches.push({
      op: 'add',
      section: reviewSection,
      target: '',
      text: `Reviewer: ${issue}`,
      topic: reviewSection === 'implementationNotes' ? 'Review' : '',
      given: '',
      when: '',
      then: '',
    });
  }
  const criteria = patches.filter(
    (patch) => patch.section === 'outcomeCriteria' || patch.section === 'systemCriteria',
  );
  const defects = draft.findings.length > 0 ? ` and flagged ${draft.findings.length} story defect(s)` : '';
  return {
    summary: `Added ${criteria.length} acceptance criteria for the ${w.role} to ${w.doAll}${defects}.`,
    patches,
    findings: draft.findings,
  };
}
