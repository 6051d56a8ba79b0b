import { getIteration, type IterationId, type SectionName } from '../catalog';
import type { Finding, IterationOutput, Patch } from '../patch';
import { allItems, criterionText, normalizeText, type CriterionSteps, type Story } from '../story';
import { domainPacks, ordersGoods, packsFor, type DomainPack, type PackItem } from './domain-packs';
import { baseOfThirdPerson, isVerb, pastParticiple, thirdPerson } from './english';
import { sentenceProblems } from './grammar-guard';
import { checkStory } from './qus-validation';
import {
  coreOf,
  joinList,
  actionKindOf,
  capturesOverTime,
  kindOf,
  storyFacts,
  type Action,
  type StatedFact,
  type StoryFacts,
} from './story-facts';

/** What every rule reads: the story, what the engine understood of it, and its domain packs. */
interface Context {
  story: Story;
  facts: StoryFacts;
  packs: DomainPack[];
  /** "page", "screen", "window" or "endpoint". */
  surface: string;
}

const surfaces = {
  web: 'page',
  'mobile-web': 'page',
  'mobile-native': 'screen',
  desktop: 'window',
  api: 'endpoint',
};

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Collects an iteration's proposals; outcome criteria carry their Given/When/Then steps. */
class Draft {
  readonly patches: Patch[] = [];
  readonly findings: Finding[] = [];

  constructor(private readonly context: Context) {}

  private fill(template: string): string {
    return template.replace(/\{actor\}/g, this.context.facts.actor);
  }

  private push(section: SectionName, text: string, steps?: CriterionSteps, topic = ''): void {
    this.patches.push({
      op: 'add',
      section,
      target: '',
      text,
      topic,
      given: '',
      when: '',
      then: '',
      ...steps,
    });
  }

  outcome(given: string, when: string, then: string): void {
    const steps = { given: this.fill(given), when: this.fill(when), then: this.fill(then) };
    this.push('outcomeCriteria', criterionText(steps), steps);
  }

  add(section: Exclude<SectionName, 'outcomeCriteria'>, text: string, topic = ''): void {
    this.push(
      section,
      capitalize(this.fill(text)),
      undefined,
      section === 'implementationNotes' ? topic : '',
    );
  }

  system(text: string): void {
    this.add('systemCriteria', text);
  }

  question(text: string): void {
    this.add('openQuestions', text);
  }

  note(topic: string, text: string): void {
    this.add('implementationNotes', text, topic);
  }

  /** The pack items written for this iteration that fit the story. */
  pack(iterationId: IterationId): void {
    for (const pack of this.context.packs) {
      for (const entry of pack.items) {
        if (entry.iteration !== iterationId || !fits(entry, this.context.facts.text)) continue;
        const kind = this.context.facts.kind;
        if (entry.kinds && kind && !entry.kinds.includes(kind)) continue;
        if (entry.section === 'outcomeCriteria')
          this.outcome(entry.given ?? '', entry.when ?? '', entry.then ?? '');
        else this.add(entry.section, entry.text ?? '', entry.topic ?? pack.name);
      }
    }
  }

  has(section: SectionName, pattern: RegExp): boolean {
    return this.patches.some((patch) => patch.section === section && pattern.test(patch.text));
  }
}

function fits(entry: PackItem, text: string): boolean {
  return (
    (entry.onlyIf === undefined || entry.onlyIf.test(text)) &&
    (entry.unless === undefined || !entry.unless.test(text))
  );
}

type Rule = (context: Context, draft: Draft) => void;

/** "the bank customer" -> "bank customers" (for counts and reports). */
function plural(role: string): string {
  if (role === '') return 'users';
  if (/(?:s|x|ch|sh)$/.test(role)) return `${role}es`;
  if (/[^aeiou]y$/.test(role)) return `${role.slice(0, -1)}ies`;
  if (/person$/.test(role)) return `${role.slice(0, -6)}people`;
  return `${role}s`;
}

function theObject(object: string): string {
  if (object === '') return '';
  // "today's appointments", "Anna's invoices": a possessive that is not a common noun takes no article.
  if (/^(?:(?:today|tomorrow|yesterday|tonight)['’]s|\p{Lu}\p{L}*['’]s)\s/u.test(object)) return object;
  // "how many sick days each team took": a question clause takes no article.
  if (/^(?:how|what|which|who|whom|whose|when|where|why|whether)\b/i.test(object)) return object;
  return /^(?:the|their|a|an|this|these|those|each|every|all|another|its|his|her)\b/i.test(object)
    ? object
    : `the ${object}`;
}

/** "save my application as a draft": kept unfinished on purpose, so no field is required yet. */
function isDraft(action: Action): boolean {
  return /\bdrafts?\b/i.test(`${action.object} ${action.rest}`) || action.verb === 'draft';
}

/** Stopping something from being used, and what undoes it: "freeze my card" is undone by unfreezing it. */
const undoneBy: Record<string, string> = {
  freeze: 'unfreeze',
  block: 'unblock',
  lock: 'unlock',
  suspend: 'reactivate',
  deactivate: 'reactivate',
};

/**
 * "freeze my card so that nobody can use it": the test is someone using it while it is frozen, and the actor
 * undoing it. Only for things that are used (cards, accounts, keys, tokens, passes).
 */
function stopsUse(context: Context, d: Draft, action: Action): void {
  const undo = undoneBy[action.verb];
  const head = objectHead(action.object);
  if (!undo || !/\b(?:cards?|accounts?|keys?|tokens?|pass(?:es)?|badges?|licen[cs]es?)$/i.test(head)) return;
  const { actor } = context.facts;
  const thing = /^their\s/i.test(action.object) ? `${actor}'s ${head}` : theObject(action.object);
  d.outcome(
    `${thing} is ${pastParticiple(action.verb)}`,
    `someone tries to use it`,
    `it is refused, and once ${actor} ${thirdPerson(undo)} it, it works again`,
  );
}

/** The object named without a possessive ("their parcel" -> "parcel"). */
function objectHead(object: string): string {
  return object.replace(/^(?:their|the|a|an|each|every|all)\s+/i, '');
}

/** Verbs that put their object in a named state ("frozen", "archived"), which the result can show. */
const becomesState =
  /^(?:turn on|turn off|switch on|switch off|finish|complete|merge|combine|grade|score|freeze|unfreeze|pause|resume|enable|disable|approve|reject|block|unblock|suspend|lock|unlock|activate|deactivate|reactivate|publish|unpublish|archive|unarchive|restore|renew|upgrade|extend|pin|mute|unmute|escalate|settle|dispute|discharge)$/;

/** Verbs whose change is a person vouching for something: who did it matters as much as the new state. */
const attests = /^(?:confirm|verify|acknowledge|certify|endorse)$/;

/** A limit on what adds up over time ("a monthly spending limit", "a daily cap"), with its period word. */
const spendingLimit =
  /\b(?:(daily|weekly|monthly|yearly|annual)\s+)?(?:[\p{L}-]+\s+)?(?:limit|cap|budget|quota|allowance)\b/iu;
const periodOf: Record<string, string> = {
  daily: 'day',
  weekly: 'week',
  monthly: 'month',
  yearly: 'year',
  annual: 'year',
};

/** Removing verbs after which nothing is left to read back (cancelling or revoking keeps a record). */
const erases = /^(?:delete|remove|erase|purge|wipe)$/;

/**
 * "cancel a shipment before it is picked up", "edit my post before it is published", "cancel an order before it
 * ships": the state after which the action is no longer allowed ("picked up", "published", "shipped").
 */
function allowedUntil(action: Action): string | undefined {
  const passive =
    /\bbefore\s+(?:it|they|the\s+[\p{L}-]+)\s+(?:is|are|has been|have been|gets|get)\s+([\p{L}]+(?:ed|en|id|ld|nt)(?:\s+(?:up|out|off|in))?)\b/iu.exec(
      action.rest,
    );
  if (passive?.[1]) return passive[1];
  const active = /\bbefore\s+(?:it|the\s+[\p{L}-]+)\s+([\p{L}]+)s\b/iu.exec(action.rest)?.[1];
  return active && isVerb(active) ? pastParticiple(active) : undefined;
}

/** Things a person shows to prove a right: what the one checking them needs to read at a glance. */
const credential =
  /\b(?:tickets?|pass(?:es)?|boarding pass|badge|id|card|licen[cs]e|permit|voucher|coupon|certificate)\b/i;

/** Doing something without a network: it must work from what the device holds. */
const offline = /\s*\b(?:offline|without (?:a |an )?(?:connection|internet|network|signal|reception))\b/i;

/** Names of codes themselves, which identify nothing by their name alone ("scan the QR code"). */
const codeNames = /^(?:qr code|qr|bar ?code|code|tag|label|ticket)$/i;

/**
 * What a scan reads ("scan a product barcode", "scan the QR code on the parcel"): the code, and the thing it
 * identifies ("the product", "the parcel"), which is what the actor needs to see; undefined for other verbs.
 */
function scannedCode(action: Action): { code: string; identifies: string } | undefined {
  if (action.verb !== 'scan') return undefined;
  const code = objectHead(action.object).replace(/^(?:my|his|her|its|our|your)\s+/i, '');
  const carrier = /^(?:on|of|from)\s+(?:the|a|an|my|their|each)\s+([\p{L}-]+)/iu.exec(action.rest)?.[1];
  if (carrier) return { code, identifies: `the ${carrier}` };
  const words = code.split(' ');
  const owner = words.slice(0, -1).join(' ');
  return owner !== '' && !codeNames.test(code)
    ? { code, identifies: `the ${owner}` }
    : { code, identifies: 'what it identifies' };
}

const userRoles: Rule = (context, d) => {
  const { facts } = context;
  const action = facts.action;
  if (facts.english && !action) {
    d.question(
      `What exactly should ${facts.actor} be able to do in "${context.story.statement.iWant}"? The offline engine could not read an action from it, so it wrote no criteria about who may do it.`,
    );
  }
  if (action && facts.kind !== 'access' && !accountsDecidedByPack(context)) {
    // Something sent to a person is theirs alone, whether or not they have an account.
    if (facts.received) {
      d.system(
        `Each ${facts.received} goes only to the ${facts.role || 'users'} it is meant for: nobody in another account or without that role receives it.`,
      );
    } else if (facts.anonymous) {
      d.outcome(
        `${facts.actor} has no account`,
        `they ${action.phrase}`,
        'it works without signing in, and nothing they do creates an account',
      );
    } else if (facts.productType === 'api') {
      d.system(
        `Only an authenticated client can ${action.phrase}; a request without valid credentials gets 401 and changes nothing.`,
      );
    } else {
      d.outcome(
        `${facts.actor} is not signed in`,
        `they try to ${action.phrase}`,
        'they are asked to sign in first and then return to the same step',
      );
    }
  }
  const existing =
    facts.kind === 'view' || facts.kind === 'change' || facts.kind === 'remove' || facts.kind === 'get';
  if (
    action &&
    existing &&
    facts.owned &&
    !facts.reachesOthers &&
    facts.role !== '' &&
    !accountsDecidedByPack(context)
  ) {
    const many = /[^s]s$/.test(objectHead(action.object));
    d.outcome(
      `another ${facts.role}'s ${objectHead(action.object)}`,
      `${facts.actor} tries to ${action.verb} ${many ? 'them' : 'it'}`,
      many && facts.kind === 'view'
        ? 'none of them appear, and asking for one by its id is answered as "not found"'
        : `${many ? 'they are' : 'it is'} answered as "not found" and nothing changes`,
    );
  }
  const beneficiary = facts.beneficiary;
  if (action && beneficiary && facts.kind !== 'view' && facts.kind !== 'access') {
    const several = /[^s]s$/.test(beneficiary.who);
    const them = /[^s]s$/.test(objectHead(action.object)) ? 'them' : 'it';
    const done = pastParticiple(action.verb);
    // "so that the council can repair it": what the council can do is the test, with what the actor gave.
    const enabled = /^(?:can|could|will be able to)\s+(?!be\b)(.+)$/i.exec(beneficiary.gains)?.[1];
    d.outcome(
      // The phrase, not the raw rest: a condition ("unless ...") has a criterion of its own.
      `${facts.actor} has ${done}${action.phrase.slice(action.verb.length)}`,
      enabled
        ? `${beneficiary.who} ${several ? 'try' : 'tries'} to ${enabled}`
        : `${beneficiary.who} ${several ? 'open' : 'opens'} ${them}`,
      enabled
        ? `they have what ${facts.actor} ${done} in front of them, without asking ${facts.actor} again`
        : `${beneficiary.who} ${beneficiary.gains}`,
    );
  }
  for (const fact of facts.facts.filter(
    (candidate) => candidate.kind === 'options' && candidate.about === 'role',
  )) {
    for (const role of fact.values) {
      const permission = rolePermissions[role.toLowerCase()];
      d.outcome(
        `a person with the ${role} role`,
        'they open an item in the workspace',
        permission ??
          'they can do exactly what the product owner lists for that role, and anything else is refused',
      );
    }
  }
  d.pack('user-roles');
};

const rolePermissions: Record<string, string> = {
  viewer: 'they can read it but cannot change, share or delete it',
  reader: 'they can read it but cannot change, share or delete it',
  editor: 'they can read and change it but cannot change members or roles',
  contributor: 'they can add to it but cannot delete what others wrote',
  admin: 'they can also invite and remove members and change their roles',
  administrator: 'they can also invite and remove members and change their roles',
  owner: 'they can also delete the workspace and hand over ownership',
};

/** The story is about signing in, or about paying in a shop: its packs decide who must have an account. */
function accountsDecidedByPack(context: Context): boolean {
  // The checkout asks whether a buyer needs an account; a shop owner importing products signs in.
  return context.packs.some(
    (pack) => pack.id === 'sign-in' || (pack.id === 'checkout' && ordersGoods.test(context.facts.text)),
  );
}

/** What a "get" action hands over as a file or document, rather than a message or an item. */
const fileLike =
  /^(?:download|export|print|generate)\b|\b(?:files?|reports?|exports?|statements?|invoices?|pdfs?|csv|documents?|receipts?|copy|copies|payslips?|certificates?|tickets?|data|backups?|archives?|maps?|summary|summaries|transcripts?)\b/i;

/** The observable result of one action, by what kind of action it is. */
function actionOutcome(context: Context, d: Draft, action: Action): void {
  const { facts } = context;
  const target = theObject(action.object) || 'the result';
  const are = /[^s]s$/.test(objectHead(action.object)) ? 'are' : 'is';
  // "show my ticket to the inspector": a credential someone else checks.
  const checker = /^to\s+(?:the|an?|my|our)\s+([\p{L}-]+)/iu.exec(action.rest)?.[1];
  if (/^(?:show|present)$/.test(action.verb) && checker && credential.test(action.object)) {
    d.outcome(
      `${facts.actor} has ${theObject(objectHead(action.object)).replace(/^the\s/, 'a valid ')}`,
      `they show it to the ${checker}`,
      `the ${checker} can check at a glance that it is valid, for whom and until when, and a copy or screenshot can be told apart from it`,
    );
    return;
  }
  const scan = scannedCode(action);
  if (scan) {
    d.outcome(
      `a ${scan.code} that can be read and is known`,
      `${facts.actor} scans it`,
      `${scan.identifies} is shown by name at once, so they can tell it is the right one`,
    );
    return;
  }
  switch (actionKindOf(action)) {
    case 'view':
      d.outcome(
        `${facts.actor} wants to ${action.phrase}`,
        `the ${context.surface} loads`,
        `it shows ${target} with the time ${are === 'are' ? 'they were' : 'it was'} last updated, and a loading failure shows a message with "Try again" instead of empty values`,
      );
      break;
    case 'create':
      if (capturesOverTime(action)) {
        d.outcome(
          `${facts.actor} has started to ${action.phrase}`,
          'they stop',
          `it is saved with its ${/\b(?:gps|rides?|runs?|walks?|hikes?|routes?|tracks?|trips?|journeys?)\b/i.test(action.phrase) ? 'route, distance and duration' : 'duration'} and shown at once, and nothing recorded is lost if the app is closed in between`,
        );
        break;
      }
      // "schedule a blog post for publication": something that happens later by itself, not an appointment.
      if (action.verb === 'schedule' && !context.packs.some((pack) => pack.id === 'booking')) {
        const scheduled = /^(?:a|an)\s/i.test(action.object) ? `the ${objectHead(action.object)}` : target;
        // "schedule a banner to show between two dates": a window, with a start and an end.
        if (/\bbetween\b|\bfrom\s+.+\s+(?:to|until|till)\b/i.test(action.rest)) {
          d.outcome(
            `${facts.actor} has scheduled ${scheduled} with a start and an end`,
            'the start comes, and later the end',
            `it is shown from the start and no longer after the end, in the time zone shown when it was scheduled, and until then ${facts.actor} can change or cancel it`,
          );
          d.outcome(
            'an end that is not after the start, or one already in the past',
            `${facts.actor} tries to schedule it`,
            'it is refused with the reason shown, and nothing is scheduled',
          );
          break;
        }
        d.outcome(
          `${facts.actor} has scheduled ${scheduled} for a date and time`,
          'that time comes',
          `${/publicat|publish|go(?:es)? live/i.test(`${action.phrase} ${facts.benefit}`) ? 'it is published' : /\bsend|\bsent\b|e-?mails?|newsletters?|messages?/i.test(action.phrase) ? 'it is sent' : 'it happens'} once, at that time in the time zone shown when it was scheduled, and until then ${facts.actor} can change or cancel it`,
        );
        d.outcome(
          'a date and time in the past',
          `${facts.actor} tries to schedule it`,
          'it is refused with the reason shown, and nothing is scheduled',
        );
        break;
      }
      if (action.verb === 'import') {
        d.outcome(
          `${facts.actor} has a valid file to ${action.phrase}`,
          'they import it',
          'they see how many records were added, updated and skipped, and what was imported appears at once',
        );
        break;
      }
      // A draft is saved as far as it goes: nothing is required yet.
      if (isDraft(action)) {
        d.outcome(
          `${facts.actor} has filled in only some of the fields`,
          `they ${action.phrase}`,
          'it is saved as it is, and when they come back later they find it with the values they entered',
        );
        break;
      }
      d.outcome(
        `${facts.actor} has filled in the required fields to ${action.phrase}`,
        'they confirm',
        `they see a confirmation with what was saved, without reloading the ${context.surface}`,
      );
      break;
    case 'change':
      stopsUse(context, d, action);
      // "split the bill with my friends": shares that must add up, each paid on its own.
      if (
        action.verb === 'split' &&
        /\b(?:bills?|costs?|payments?|rent|checks?|tabs?|fares?|expenses?)\b/i.test(action.object)
      ) {
        d.outcome(
          `${facts.actor} has chosen to ${action.phrase}`,
          'the shares are shown',
          'each share shows its amount, the shares add up to exactly the total (a rounding cent goes to one share), and every person can pay their share separately',
        );
        d.outcome(
          'some shares are paid and others are not',
          `${facts.actor} looks at ${theObject(action.object)}`,
          'they see who has paid and who has not, and it is settled only when every share is paid',
        );
        break;
      }
      // "avoid tolls", "exclude weekends": a choice that leaves things out of what is shown.
      if (/^(?:avoid|exclude)$/.test(action.verb) && action.object !== '') {
        d.outcome(
          `${facts.actor} has chosen to ${action.phrase}`,
          'the results are shown',
          `none of them include ${objectHead(action.object)}, and the choice is kept for next time`,
        );
        break;
      }
      // "confirm the quantity", "verify an address": the change is the confirmation itself, and who made it.
      if (attests.test(action.verb)) {
        const done = pastParticiple(action.verb);
        d.outcome(
          `${facts.actor} is about to ${action.phrase}`,
          `they ${action.verb} ${are === 'are' ? 'them' : 'it'}`,
          `${target} ${are} shown as ${done} at once, with who ${done} ${are === 'are' ? 'them' : 'it'} and when, and still after a reload`,
        );
        break;
      }
      {
        // The result names what changed: "the task shows the team member as assigned", "the membership is
        // shown as frozen", "the address shows the change", never a vague "new state".
        const named = /^(?:a|an)\s/i.test(action.object) ? `the ${objectHead(action.object)}` : target;
        const assignee =
          /^to\s+(?:the|a|an)\s+([\p{L}-]+(?:\s+(?!(?:so|when|and|in|on|at|for|with|from|by|of|who|that|which)\b)[\p{L}-]+){0,2})/iu.exec(
            action.rest,
          )?.[1];
        // "the nearest available driver": the product chooses by distance and availability.
        if (action.verb === 'assign' && assignee && /^(?:nearest|closest)\b/i.test(assignee)) {
          const candidate = assignee.replace(/^(?:nearest|closest)\s+(?:available\s+)?/i, '');
          d.outcome(
            `two available ${plural(candidate)} at different distances from ${named}`,
            `${facts.actor} ${thirdPerson('assign')} it`,
            `the nearer one gets it, and a ${candidate} who is not available is never chosen, however near`,
          );
        }
        const shows = are === 'are' ? 'show' : 'shows';
        const result =
          action.verb === 'assign' && assignee
            ? `${named} ${shows} the ${assignee} as assigned`
            : becomesState.test(action.verb)
              ? `${named} ${are} shown as ${pastParticiple(action.verb)}`
              : action.verb === 'subscribe'
                ? `they are shown as subscribed to ${named === 'the result' ? action.rest.replace(/^to\s+/i, '') : named}`
                : action.verb === 'set'
                  ? `the new ${objectHead(action.object)} ${are} shown`
                  : action.verb === 'rename'
                    ? `${named} ${are} shown under ${are === 'are' ? 'their new names' : 'its new name'}`
                    : named === 'the result' && /^(?:choose|select|pick)$/.test(action.verb)
                      ? 'their choice is shown'
                      : `${named} ${shows} the change`;
        d.outcome(
          `${facts.actor} is about to ${action.phrase}`,
          'they confirm',
          `${result} at once and still after a reload`,
        );
      }
      break;
    case 'remove': {
      const removed = /^(?:a|an)\s/i.test(action.object) ? `the ${objectHead(action.object)}` : target;
      d.outcome(
        `${facts.actor} is about to ${action.phrase}`,
        'they confirm',
        // Archiving puts something away and loses nothing; the others end or erase it.
        action.verb === 'archive'
          ? `${removed} ${are} shown as archived at once, leave the everyday list, and can still be found among the archived ones and restored`
          : `${removed} ${are} shown as ${pastParticiple(action.verb)} at once, and before confirming they are told what they will lose`,
      );
      break;
    }
    case 'send':
      // Buying is paying for something, not sending it: the checkout pack says what the confirmation shows.
      if (/^(?:buy|purchase|order)$/.test(action.verb)) {
        if (!d.has('outcomeCriteria', /order number|in their account at once/))
          d.outcome(
            `${facts.actor} is about to ${action.phrase}`,
            'they confirm the payment',
            'they see what they bought and the amount charged, and they get a receipt',
          );
        break;
      }
      d.outcome(
        `${facts.actor} is about to ${action.phrase}`,
        'they confirm',
        // A payment is judged by its amount and its date; a message by who got it.
        /^(?:pay|transfer|deposit|reimburse|refund)$/.test(action.verb)
          ? 'they see the amount, the recipient and the date it is paid on, and its current status'
          : 'they see that it was sent, to whom, and its current status',
      );
      {
        // "to all tenants of a building", "to every member": one send reaches many, and some may be unreachable.
        const many =
          /\bto\s+(?:all|every|each|several|many|multiple|the)\s+(?:of\s+(?:the|my|their)\s+)?([\p{L}-]+s)\b/iu.exec(
            action.rest || action.phrase,
          );
        if (many?.[1] && !/^(?:details|contents|results|settings)$/i.test(many[1]))
          d.outcome(
            `some of the ${many[1]} have no valid address`,
            `${facts.actor} sends it`,
            `it reaches all the others, and ${facts.actor} sees which ${many[1]} did not get it and why`,
          );
      }
      break;
    case 'access':
      // Checking in and joining change who the actor is to the product: the result says so. Signing in has its
      // own pack.
      if (action.verb === 'check in' || action.verb === 'join') {
        d.outcome(
          `${facts.actor} is about to ${action.phrase}`,
          'they confirm',
          action.verb === 'check in'
            ? 'they are shown as checked in at once and still after a reload, and the staff see the check-in'
            : `they are shown as a member of ${/^(?:a|an)\s/i.test(action.object) ? `the ${objectHead(action.object)}` : target} at once and still after a reload, and see what only members see`,
        );
      }
      break;
    case 'get':
      if (eventNotice(context, d, action) || scheduledNotice(context, d, action)) break;
      // A message with no stated moment: validation asks what sends it (`deliveryQuestion`).
      if (facts.received) break;
      // "get a notification", "receive a reminder": the packs know what those look like; this is about files.
      if (!fileLike.test(`${action.verb} ${action.object}`)) break;
      d.outcome(
        `${facts.actor} asks to ${action.phrase}`,
        'it is ready',
        'they get it with a name that says what it contains and which period it covers',
      );
      break;
    default:
      break;
  }
}

/** The labels of the controls a story's actions need, quoted ("Scan product barcode"); one per action. */
function controlLabels(actions: readonly Action[]): string[] {
  // What the actor only looks at needs no control of its own ("See today's appointments" is no button).
  const controls = actions.filter(
    (action) =>
      kindOf(action.verb) !== 'view' &&
      // Being sent something ("get an email when ...") is no button either.
      !(kindOf(action.verb) === 'get' && notice.test(action.object)),
  );
  return controls.map(
    (action) =>
      `"${capitalize([action.verb, objectHead(action.object)].filter((part) => part !== '').join(' '))}"`,
  );
}

/** Each action of the wish, read: the main one, then each further feature's ("see X and export it"). */
function storyActions(facts: StoryFacts): Action[] {
  return [facts.action, ...facts.featureActions].filter((action): action is Action => action !== undefined);
}

const interactiveElements: Rule = (context, d) => {
  const { facts } = context;
  const actions = storyActions(facts);
  const labels = controlLabels(actions);
  const shown = actions.find((action) => kindOf(action.verb) === 'view');
  if (actions.length > 1 && labels.length > 1) {
    d.add(
      'behaviour',
      `The ${context.surface} offers one clearly labelled control per action: ${joinList(labels, 'and')}.`,
    );
  } else if (actions.length > 1 && labels.length === 1 && shown && shown.object !== '') {
    d.add(
      'behaviour',
      `The ${context.surface} offers a clearly labelled ${labels[0]} control next to ${theObject(shown.object)}.`,
    );
  }
  d.pack('interactive-elements');
  for (const offlineAction of actions.filter((candidate) => offline.test(candidate.phrase))) {
    d.outcome(
      'the device has no network connection',
      `${facts.actor} ${thirdPerson(offlineAction.verb)}${offlineAction.phrase.slice(offlineAction.verb.length).replace(offline, '')}`,
      'it works from what is stored on the device and shows when that was last updated',
    );
  }
  for (const lasting of actions.filter((candidate) => candidate.deviceState)) {
    d.outcome(
      `${facts.actor} has started to ${lasting.phrase}`,
      `${lasting.deviceState} for an hour`,
      'it carries on without a gap until they stop it, and the lock screen or a notification shows that it is running',
    );
  }
  const action = facts.action;
  if (!action || context.packs[0]?.id === 'sign-in') return;
  if (!d.has('outcomeCriteria', /when they confirm|summary shows/)) actionOutcome(context, d, action);
  featureOutcomes(context, d);
  const submits =
    (facts.kind === 'create' && !capturesOverTime(action)) ||
    facts.kind === 'send' ||
    facts.kind === 'remove';
  if (
    submits &&
    !context.packs.some((pack) => pack.items.some((entry) => /once|twice|idempotency/.test(entry.text ?? '')))
  ) {
    d.outcome(
      `the request to ${action.phrase} is still in progress`,
      `${facts.actor} presses the button again`,
      'nothing is submitted twice and the button shows that the request is in progress',
    );
  }
};

/** Something the product sends a person or a system rather than a thing they act on. */
const notice =
  /\b(?:e-?mails?|notifications?|alerts?|reminders?|messages?|sms|push notifications?|webhooks?|callbacks?|events?)\b/i;

/** A message one system sends another: no person reads it on a screen. */
const machineMessage = /\b(?:webhooks?|callbacks?)\b/i;

/** A message's own trigger: "when an invoice is paid". */
const noticeWhen = /^(?:when|whenever|if|as soon as|each time|every time)\b/i;

/**
 * "get an email when new jobs match it", "receive a webhook when an invoice is paid": one notice per event
 * the actor asked to hear about, and none without one. False when the action is not such a wish.
 */
function eventNotice(context: Context, d: Draft, action: Action): boolean {
  if (kindOf(action.verb) !== 'get' || !notice.test(action.object)) return false;
  if (!noticeWhen.test(action.rest)) return false;
  const { actor } = context.facts;
  const head = objectHead(action.object);
  d.outcome(
    `${actor} has asked to ${action.phrase}`,
    'that happens',
    context.story.productType === 'api' || machineMessage.test(head)
      ? `${actor} receives exactly one ${head} for it, with an event id, the event type and the id of what it concerns, and none when nothing happened`
      : `they get exactly one ${head} saying what happened, with a link to it, and none when nothing happened`,
  );
  return true;
}

/**
 * A message's moment, set by the person's own event: "on the morning of their arrival" (a part of a day, whose
 * exact time is open), "24 hours before their appointment" (a stated interval).
 */
function sendingTime(
  action: Action,
): { phrase: string; moment: string; event: string; exact: boolean } | undefined {
  const [phrase, part, relation, event] =
    /\bthe\s+(morning|afternoon|evening|night|day)\s+(of|before|after)\s+(?:their|the|each|its)\s+([\p{L}-]+)/iu.exec(
      action.rest,
    ) ?? [];
  if (phrase && part && relation && event) {
    const day = relation === 'of' ? 'that day' : `the day ${relation} it`;
    return { phrase, moment: `the ${part} of ${day}`, event, exact: false };
  }
  const [stated, interval, side, later] =
    /\b(\d[\d,.]*\s+(?:minutes?|hours?|days?|weeks?))\s+(before|after)\s+(?:their|the|each|its)\s+([\p{L}-]+)/iu.exec(
      action.rest,
    ) ?? [];
  return stated && interval && side && later
    ? { phrase: interval, moment: `${interval} ${side} it`, event: later, exact: true }
    : undefined;
}

/**
 * "get the door code by SMS on the morning of their arrival": one message, at a moment tied to the person's own
 * event. False when the action is no message with such a moment.
 */
function scheduledNotice(context: Context, d: Draft, action: Action): boolean {
  const { facts } = context;
  const time = sendingTime(action);
  if (!facts.received || !time) return false;
  d.outcome(
    `${facts.actor}'s ${time.event} is ${time.exact ? 'at a given time' : 'on a given day'}`,
    `${time.moment} comes`,
    `they get exactly one ${facts.received}, and nobody else gets it`,
  );
  return true;
}

/** What a message sent to the actor leaves open: its exact moment, or what sends it at all. */
function deliveryQuestion(context: Context): string | undefined {
  const { facts } = context;
  const action = facts.action;
  if (!facts.received || !action || noticeWhen.test(action.rest)) return undefined;
  const time = sendingTime(action);
  if (!time)
    return `What sends the ${facts.received} to ${facts.actor}: which event or time, how soon after it, and what must it say?`;
  return time.exact
    ? `What happens when the ${time.event} is arranged less than ${time.phrase} ahead: is the ${facts.received} sent at once or not at all?`
    : `What time exactly is "${time.phrase}", in which time zone, and what happens when the ${time.event} is arranged after that time?`;
}

/**
 * "see my lab results as soon as my doctor releases them": before that act, what it releases is not there;
 * after it, it is, and how soon is asked. Nothing when the act's verb is not one the engine knows.
 */
function awaitedAct(context: Context, d: Draft, action: Action, trigger: string): void {
  const { actor } = context.facts;
  const [, whose, who, verb, what] =
    /^(their|the|a|an|its|our)\s+([\p{L}-]+)\s+([\p{L}-]+)\s*(.*)$/iu.exec(trigger) ?? [];
  const base = verb && baseOfThirdPerson(verb);
  if (!whose || !who || !verb || !base) return;
  const doer = whose.toLowerCase() === 'their' ? `${actor}'s ${who}` : `${whose.toLowerCase()} ${who}`;
  const thing = theObject(action.object) || 'it';
  const acted = (what ?? '').replace(/^(?:them|it)\b/i, thing);
  const plural = /[^s]s$/.test(objectHead(action.object));
  d.outcome(
    `${doer} has not ${pastParticiple(base)} ${acted} yet`,
    `${actor} tries to ${action.phrase}`,
    `${plural ? 'they are' : 'it is'} not shown yet, and nothing hints at ${plural ? 'them' : 'it'}`,
  );
  d.outcome(
    `${doer} ${verb.toLowerCase()} ${acted}`,
    `${actor} next tries to ${action.phrase}`,
    `${plural ? 'they are' : 'it is'} there, with when ${plural ? 'they were' : 'it was'} ${pastParticiple(base)}`,
  );
  d.question(
    `How soon after ${doer} ${verb.toLowerCase()} ${acted} must ${actor} be able to ${action.phrase}: within a minute, or a stated longer time?`,
  );
}

/**
 * "create a shipment with an idempotency key": the same request sent again (a retry after a time-out) gives the
 * first answer and creates nothing; how long a key is remembered is the story's to say.
 */
function idempotentRetry(context: Context, d: Draft): void {
  const { facts } = context;
  const action = facts.action;
  if (!action || !/\bidempotency keys?\b/.test(facts.text)) return;
  const head = objectHead(action.object) || 'result';
  d.outcome(
    `a request to ${action.phrase} that succeeded`,
    `${facts.actor} sends it again with the same idempotency key`,
    `the answer repeats the first one, with the same ${head} id, and no second ${head} is created`,
  );
  d.question(
    'For how long is an idempotency key remembered, and what does a reused key with a different request body get?',
  );
}

/** What a client sees when its request for an action succeeds, by what the action does to its object. */
function apiResult(action: Action): string | undefined {
  const head = objectHead(action.object);
  // "delete a shipment" answers about the shipment it named.
  const target =
    (/^(?:a|an)\s/i.test(action.object) ? `the ${head}` : theObject(action.object)) || 'the result';
  switch (actionKindOf(action)) {
    case 'create':
      return head === ''
        ? undefined
        : `the response is 201 with the new ${head} and its id, and reading it back by that id returns the same data`;
    case 'view':
      return `the response is 200 with ${target}, and a request for one that does not exist gets 404`;
    case 'change':
      return `the response is 200 with ${target} in its new state, and reading it back returns that state`;
    case 'remove':
      // Cancelling or revoking keeps the record in its new state; only deleting makes it go away.
      return erases.test(action.verb)
        ? `the response is 204, and reading ${target} back gets 404`
        : `the response is 200 with ${target} marked as ${pastParticiple(action.verb)}, and reading it back shows that state`;
    case 'send':
      return 'the response is 202 with an id, and the delivery status can be read with that id';
    case 'get':
      return `the response is 200 with ${target}`;
    default:
      return undefined;
  }
}

/** An API story's outcome for each of its actions: the successful request and its response. */
function apiOutcomes(context: Context, d: Draft): void {
  const { facts } = context;
  for (const action of storyActions(facts)) {
    if (eventNotice(context, d, action)) continue;
    const result = apiResult(action);
    if (!result) continue;
    d.outcome(`a valid request to ${action.phrase}`, `${facts.actor} sends it`, result);
  }
}

/** Each further feature of a compound story gets its own outcome, so the story is covered until it is split. */
function featureOutcomes(context: Context, d: Draft): void {
  for (const [index, feature] of context.facts.features.slice(1).entries()) {
    const action = context.facts.featureActions[index];
    if (action) actionOutcome(context, d, action);
    else
      d.question(
        `What should ${context.facts.actor} see when they "${feature}"? The offline engine could not read an action from it.`,
      );
  }
}

/** Durations a person spends on a task ("in under 2 minutes"), as opposed to deadlines and periods. */
const taskTime = /^(?:less than|under|within|in under|at most|no more than)\s+\S+\s+(?:seconds?|minutes?)$/i;
/** Anchors that tie a duration to an event rather than bound it. */
const eventAnchor =
  /\b(?:before|after|ahead of|prior to)\b|(?:^|\s)(?:avant|après|vorher|danach|antes|después|depois|voor|ervoor|erna|prima|dopo)(?:\s|$)/iu;

/** A criterion for each value the story states, so none of them goes untested. */
function statedValues(context: Context, d: Draft): void {
  const { facts } = context;
  const action = facts.action;
  // A bare verb ("upload" of "upload at most 5 photos") reads as "tries it".
  const doing = action && action.phrase.includes(' ') ? action.phrase : '';
  const attempt = doing === '' ? `${facts.actor} tries it` : `${facts.actor} tries to ${doing}`;
  for (const fact of facts.facts) {
    const { value } = fact;
    if (fact.kind === 'duration' && durationCriterion(context, d, fact, doing)) continue;
    switch (fact.kind) {
      case 'range': {
        const [low, high] = fact.values;
        if (low && high) {
          d.outcome(
            `a value just outside the range "${fact.text}" the story states`,
            attempt,
            `it is refused with the range named, while "${low}" and "${high}" are both accepted`,
          );
        }
        break;
      }
      case 'duration':
      case 'amount':
      case 'count':
      case 'size':
      case 'percentage':
        boundCriterion(d, fact, attempt);
        break;
      case 'rate':
        d.system(
          `Within one period of "${value}", the request over that number gets 429 with a Retry-After header, and the next period accepts requests again.`,
        );
        break;
      case 'format':
        // A file the actor brings is checked on the way in; one the product makes is checked on the way out.
        if (action && /^(?:upload|attach|import|submit)$/.test(action.verb)) {
          d.outcome(
            `a file that is not a ${value}`,
            `${facts.actor} chooses it`,
            `it is refused before the upload starts, naming ${value} as the accepted type`,
          );
          if (action.verb === 'import') {
            d.outcome(
              `a ${value} file in which some rows are not valid`,
              `${facts.actor} imports it`,
              'they see each rejected row with its line number and the reason, and no row is imported twice when they import the corrected file',
            );
          }
          break;
        }
        d.system(
          formatCriteria[value.toUpperCase()] ??
            `Files in ${value} open without errors in the usual tools for ${value}, checked by opening a generated sample in one.`,
        );
        break;
      case 'header':
        d.system(
          headerCriteria[value.toLowerCase()] ??
            `The "${value}" header is documented with its format and an example, and a contract test checks that it is sent and read as the story says.`,
        );
        break;
      case 'status':
        d.system(
          `The story's "${value}" is what a contract test receives in that case, with a problem+json body naming the reason.`,
        );
        break;
      case 'timeOfDay':
        d.system(
          `"${value}" is read in the time zone of the person concerned, and a test at one minute before and one minute after "${value}" shows the change.`,
        );
        break;
      case 'deadline':
        d.system(
          `A test on ${value} and one on the day after show where the deadline "${fact.text}" falls, in the time zone the specification names for it.`,
        );
        d.question(
          `What happens once the deadline ("${fact.text}") has passed, and which time zone decides when ${value} ends?`,
        );
        break;
      case 'schedule':
        d.system(
          `A test that moves the clock over three consecutive periods ("${value}") sees it happen exactly once in each, in the time zone of the person concerned.`,
        );
        if (/\d(?:st|nd|rd|th)\b/i.test(value)) {
          d.question(`What happens when "${value}" falls on a weekend or a public holiday?`);
        }
        break;
      case 'options':
        if (fact.about === 'filter') {
          d.outcome(
            `results filtered by ${joinList(fact.values, 'and')} at once`,
            'the results are shown',
            `only items matching every one of ${joinList(fact.values, 'and')} appear`,
          );
        }
        break;
    }
  }
}

/**
 * The criteria of durations that are not plain bounds: time spent on a task, a moment tied to an event, a
 * period and a rhythm. False when the duration is a plain bound, checked like any other number.
 */
function durationCriterion(context: Context, d: Draft, fact: StatedFact, doing: string): boolean {
  const { facts } = context;
  const { text } = fact;
  if (taskTime.test(text)) {
    d.outcome(
      `${facts.actor} has done it before`,
      doing === '' ? 'they use the feature' : `they ${doing}`,
      `they are done ${/^within/i.test(text) ? text : `in ${text.replace(/^in under/i, 'under')}`}, measured in a usability test with 5 people`,
    );
    return true;
  }
  if (/^within\s/i.test(text)) {
    d.system(
      `Every case is timed against "${text}"; each case past that limit is listed on a daily report, and a test sees none in normal operation.`,
    );
    return true;
  }
  if (eventAnchor.test(text) && fact.comparison === 'atMost') {
    // "up to 48 hours before arrival" is passed by being too early; "up to 30 days after delivery", too late.
    const past = /\b(?:before|ahead|in advance|prior to|beforehand|earlier)\b/i.test(text)
      ? `it is earlier than ${fact.value}`
      : /\b(?:after|later)\b/i.test(text)
        ? `it is later than ${fact.value}`
        : `a moment just past "${text}", the limit the story states`;
    d.outcome(
      past,
      doing === '' ? `${facts.actor} tries it` : `${facts.actor} tries to ${doing}`,
      `it is refused with that limit named, while at exactly "${fact.value}" it is accepted`,
    );
    return true;
  }
  if (eventAnchor.test(text) && fact.comparison === '') {
    d.system(
      `A test with the clock set to exactly "${text}" sees it happen once, and a test one minute earlier sees nothing yet.`,
    );
    return true;
  }
  if (/^for\s/i.test(text) && facts.action) {
    // "find a station and reserve a charger for 30 minutes": the period belongs to the action that states it.
    const owner = facts.features.findIndex(
      (feature, index) => index > 0 && feature.toLowerCase().includes(text.toLowerCase()),
    );
    const action = (owner > 0 ? facts.featureActions[owner - 1] : undefined) ?? facts.action;
    const period = text.replace(/^for\s+/i, '');
    const held = /^(?:reserve|book|hold)$/.test(action.verb);
    const ends =
      action.verb === 'pause'
        ? 'the pause ends by itself'
        : held
          ? `the reservation ends, ${theObject(objectHead(action.object)) || 'what was held'} is free for others again,`
          : 'the period ends';
    d.outcome(
      `${facts.actor} has chosen to ${action.phrase}`,
      `${period} ${/^(?:1|one|an?)\s/i.test(period) ? 'has' : 'have'} passed${held ? ' without it being used' : ''}`,
      `${ends} and ${facts.actor} is told`,
    );
    return true;
  }
  if (/^(?:every|each|per)\s/i.test(text)) {
    d.system(
      `Over three consecutive periods of "${text.replace(/^(?:every|each|per)\s+/i, '')}", a test sees it happen exactly once in each.`,
    );
    return true;
  }
  if (fact.comparison === '') {
    d.system(
      `The behaviour the story ties to "${text}" is checked at exactly that value and just either side of it.`,
    );
    return true;
  }
  return false;
}

/** A stated number checked by what its bounding words make of it: a limit, a minimum, a threshold, a value. */
function boundCriterion(d: Draft, fact: StatedFact, when: string): void {
  const { text, value } = fact;
  switch (fact.comparison) {
    case 'atMost':
      d.outcome(
        `a value just above the limit "${text}" the story states`,
        when,
        `it is refused with that limit named, while exactly "${value}" is accepted`,
      );
      break;
    case 'atLeast':
      d.outcome(
        `a value just below the minimum "${text}" the story states`,
        when,
        `it is refused with that minimum named, while exactly "${value}" is accepted`,
      );
      break;
    case 'above':
    case 'below':
      d.system(
        `A test at exactly "${value}" does not trigger what the story ties to "${text}", while a test just ${fact.comparison} "${value}" does.`,
      );
      break;
    case 'exactly':
      d.system(
        /^last\s/i.test(text)
          ? /\b(?:hours?|days?|weeks?|months?|years?)$/i.test(value)
            ? `A test with records just inside and just outside the "${text}" gets only those inside, the window counted back from the time of the request.`
            : `With more than "${value}" available, a test sees exactly the "${text}", newest first.`
          : `A test checks that exactly "${value}" applies, as the story states, and that one more or one fewer does not.`,
      );
      break;
    case '':
      d.system(
        `A test checks that "${text}", the value the story states, is the one applied and shown, with no rounding.`,
      );
      break;
  }
}

const formatCriteria: Record<string, string> = {
  CSV: 'CSV files are UTF-8 with a header row, comma separated and quoted where needed, with dates in ISO 8601; cells starting with =, +, - or @ are escaped so spreadsheets do not run them as formulas.',
  PDF: 'The PDF opens in common readers without warnings, its text can be searched and copied, and its pages print on A4 and US Letter.',
  XLSX: 'The XLSX file opens in spreadsheet software with numbers and dates stored as numbers and dates, not as text.',
  EXCEL:
    'The Excel file opens in spreadsheet software with numbers and dates stored as numbers and dates, not as text.',
  JSON: 'The JSON follows a published JSON Schema, and a contract test validates every response against it.',
  ICS: 'The calendar file follows RFC 5545 and imports into common calendar apps with the right time zone.',
  PNG: 'The PNG image is at least 1200 pixels wide and keeps its text readable when pasted into a document.',
  SMS: 'SMS texts fit in one message (160 characters, 70 with characters outside the GSM alphabet) and name the sender.',
  'QR CODE':
    'The QR code can be scanned from a phone screen at full brightness and from paper at 2 cm width.',
};

const headerCriteria: Record<string, string> = {
  'retry-after':
    'The Retry-After header gives the number of seconds until the client may retry, and a retry after that time gets its normal answer rather than 429.',
  'idempotency-key':
    'A repeated request with the same Idempotency-Key within 24 hours returns the first response and changes nothing again.',
  authorization:
    'A request without a valid Authorization header gets 401 with a WWW-Authenticate header and changes nothing.',
};

const validation: Rule = (context, d) => {
  const check = checkStory(context.story);
  d.findings.push(...check.findings);
  for (const question of check.questions) d.question(question);
  const delivery = deliveryQuestion(context);
  if (delivery) d.question(delivery);
  statedValues(context, d);
  if (context.story.productType === 'api') apiOutcomes(context, d);
  idempotentRetry(context, d);
  d.pack('validation');
  const action = context.facts.action;
  const entersData =
    (context.facts.kind === 'create' && !(action && capturesOverTime(action))) ||
    context.facts.kind === 'send' ||
    context.facts.kind === 'change';
  const scan = action && scannedCode(action);
  if (scan) {
    d.outcome(
      `a ${scan.code} that cannot be read or matches nothing known`,
      `${context.facts.actor} scans it`,
      'a message says so, nothing is recorded, and they can scan again at once',
    );
  } else if (
    action &&
    entersData &&
    !isDraft(action) &&
    context.story.productType !== 'api' &&
    !d.has('outcomeCriteria', /refused|flagged|marked/)
  ) {
    d.outcome(
      `a required value is missing or malformed`,
      `${context.facts.actor} tries to ${action.phrase}`,
      'the value is marked with a message that says how to fix it, and nothing is submitted',
    );
  }
  // A verb the offline engine does not know: say so rather than guess what its result looks like.
  for (const unknown of storyActions(context.facts).filter(
    (candidate) => actionKindOf(candidate) === undefined,
  )) {
    d.question(
      `What should ${context.facts.actor} see once they ${unknown.phrase}? The offline engine does not know the verb "${unknown.verb}", so it wrote no criterion about its result.`,
    );
  }
  // "set a monthly spending limit": what the limit is for is refusing what would go over it.
  const limit = action && spendingLimit.exec(action.object);
  if (
    action &&
    limit &&
    /^(?:set|change|update|add|create|configure|define|raise|lower)$/.test(action.verb)
  ) {
    d.outcome(
      `${context.facts.actor} has set ${theObject(objectHead(action.object))}`,
      'something new would take the total over it',
      // Whoever would go over it is told: the actor for their own budget, the child for a screen-time limit.
      'it is refused before it happens, naming the limit it would break and how much is left',
    );
    const period = limit[1] ? periodOf[limit[1].toLowerCase()] : undefined;
    if (period)
      d.system(
        `The total is counted per calendar ${period} in ${context.facts.actor}'s time zone and starts again at 00:00 ${period === 'day' ? 'every day' : `on the first day of the next ${period}`}, shown by a test on either side of midnight.`,
      );
  }
  const condition = action?.condition;
  if (action && condition) {
    // "unless someone has reserved the book": the refusal is tested with that exception in place.
    const exception = /^unless\s+(.+)$/i.exec(condition)?.[1];
    d.outcome(
      exception ?? `the condition "${condition}" no longer holds`,
      `${context.facts.actor} tries to ${action.phrase}`,
      context.story.productType === 'api'
        ? 'the response is 409 naming the condition, and nothing changes'
        : 'it is refused with the reason shown, and nothing changes',
    );
  }
  if (action?.trigger) awaitedAct(context, d, action, action.trigger);
  const circumstance = action?.circumstance;
  if (action && circumstance) {
    d.question(
      `The story allows this "${circumstance}": must ${context.facts.actor} show that (for example with a document), who checks it, and what happens when it no longer applies?`,
    );
  }
  const until = action && allowedUntil(action);
  if (action && until) {
    d.outcome(
      `a ${objectHead(action.object)} that is already ${until}`,
      `${context.facts.actor} tries to ${action.verb} it`,
      context.story.productType === 'api'
        ? 'the response is 409 naming the reason, and nothing changes'
        : 'it is refused with the reason shown, and nothing changes',
    );
  }
  for (const section of ['outcomeCriteria', 'systemCriteria'] as const) {
    for (const existing of context.story[section]) {
      const text = measurableRewrite(existing.text, context.facts.role);
      if (text === undefined) continue;
      d.patches.push({
        op: 'replace',
        section,
        target: existing.id,
        text,
        topic: '',
        given: '',
        when: '',
        then: '',
      });
    }
  }
};

/** A criterion with a vague word made measurable ("Search is "fast", measured as: ..."); undefined when none. */
export function measurableRewrite(text: string, role: string): string | undefined {
  const rule = measurableWording.find(({ pattern }) => pattern.test(text));
  if (!rule) return undefined;
  const quoted = text.replace(/[.\s]+$/, '').replace(rule.pattern, '"$&"');
  return `${quoted}, measured as: ${rule.wording(plural(role))}.`;
}

/** How a vague word in an existing criterion becomes something a tester can check. */
const measurableWording: { pattern: RegExp; wording: (roles: string) => string }[] = [
  { pattern: /\b(fast|quick(ly)?)\b/i, wording: () => 'within 2 seconds for 95% of requests' },
  {
    pattern: /\b(user-friendly|user friendly|intuitive|easy|easily|simple)\b/i,
    wording: (roles) => `4 of 5 first-time ${roles} succeed without help in a usability test`,
  },
  { pattern: /\beverything\b/i, wording: () => 'exactly the items listed in this story, no others' },
];

const accessibility: Rule = (context, d) => {
  const { facts } = context;
  d.pack('accessibility');
  // A message is read, not operated: its order and its links are what a screen reader needs. An SMS is
  // plain text the phone reads out as it is, and a webhook is read by another system.
  if (facts.received) {
    const read = !/^(?:sms|text message)\b/i.test(facts.received) && !machineMessage.test(facts.received);
    if (read && !d.has('outcomeCriteria', /screen reader/)) {
      d.outcome(
        `${facts.actor} uses a screen reader`,
        `they open the ${facts.received}`,
        'it reads in a logical order, every link names where it leads, and nothing is said only by colour or an image',
      );
    }
  } else if (facts.action && !facts.received && !d.has('outcomeCriteria', /screen reader|keyboard/)) {
    const native = context.story.productType === 'mobile-native';
    d.outcome(
      native
        ? `${facts.actor} uses VoiceOver or TalkBack`
        : `${facts.actor} uses only a keyboard or a screen reader`,
      `they ${facts.action.phrase}`,
      native
        ? 'every control is announced with its name, role and state in a logical order, and the result is announced'
        : 'every control is reachable in a logical order with a visible focus and a spoken name, and the result is announced',
    );
  }
  if (/screen[- ]?readers?/.test(facts.text)) {
    d.note(
      'Accessibility',
      'The story notes that some users rely on screen readers: test the whole flow with NVDA, JAWS, VoiceOver and TalkBack before release.',
    );
  }
};

const performance: Rule = (context, d) => {
  const { facts } = context;
  d.pack('performance');
  const action = facts.action;
  // An API has no screen to confirm on: its latency is the system criterion below. Nor has a message sent
  // to the actor: its delivery is what has to be fast.
  if (
    action &&
    !facts.received &&
    context.story.productType !== 'api' &&
    !d.has('outcomeCriteria', /within \d/) &&
    !d.has('systemCriteria', /within \d/)
  ) {
    d.outcome(
      'the expected peak load',
      `${facts.actor} asks to ${action.phrase}`,
      facts.kind === 'view'
        ? 'the result appears within 2 seconds for 95% of requests'
        : 'the confirmation appears within 2 seconds for 95% of requests',
    );
  }
  if (
    action &&
    !facts.received &&
    (context.story.productType === 'mobile-native' || context.story.productType === 'mobile-web')
  ) {
    d.outcome(
      'a slow mobile connection (400 kbps, 300 ms latency)',
      `${facts.actor} tries to ${action.phrase}`,
      'it completes within 5 seconds or says that it is still working',
    );
  }
  if (action && facts.received) {
    // One asks for what one receives once (or not at all); the deliveries are what has to be fast.
    d.system(
      `Each ${facts.received} is sent within 1 minute of ${sendingTime(action) ? 'the time it is due' : 'the event that causes it'} at the 95th percentile at 10 times the expected peak of events, shown by a load test.`,
    );
  } else if (context.story.productType === 'api' && action) {
    d.system(
      `Requests to ${action.phrase} are answered within 500 ms at the 95th percentile at 10 times the expected peak, shown by a load test.`,
    );
  }
  if (context.story.productType === 'api' && action) {
    // "list all orders": a list with no bound is a page at a time, or one call can ask for everything.
    if (facts.kind === 'view' && /^(?:all|every)\b|s\b/i.test(action.object))
      d.outcome(
        `more results than one page holds`,
        `${facts.actor} asks for them`,
        'they get one page with a cursor to the next, and following the cursors returns each result exactly once, even while new ones are added',
      );
  }
};

const personalData =
  /\b(?:name|address|phone|birth|photo|email|location|health|patient|salary|payslip|account|card|bank|medical|statement)s?\b/;

const security: Rule = (context, d) => {
  const { facts } = context;
  d.pack('security');
  const action = facts.action;
  const changes = facts.kind !== 'view' && facts.kind !== undefined;
  if (facts.received && !d.has('systemCriteria', /logged|log\b/)) {
    d.system(
      `Every ${facts.received} sent is logged with the recipient's id, the time and the event that caused it, and the log holds no passwords or card numbers.`,
    );
  } else if (action && changes && !d.has('systemCriteria', /logged|log\b/)) {
    d.system(
      `Every attempt to ${action.phrase}, successful or refused, is logged with the ${facts.role || 'user'}'s id, the time and the outcome, and the log holds no passwords or card numbers.`,
    );
  }
  if (action && personalData.test(facts.text) && !context.packs.some((pack) => pack.id === 'health')) {
    d.question(
      `Which personal data is processed when ${facts.actor} ${action.verb === action.phrase ? action.verb : 'does this'}, how long is it kept, and who may export or delete it?`,
    );
  }
};

const responsiveWeb: Rule = (context, d) => {
  const { facts } = context;
  d.pack('responsive-web');
  if (!facts.action) return;
  // What the actor acts on decides the layout, not every word of the wish: "report a broken appliance"
  // shows no list.
  const objects = storyActions(facts)
    .map((action) => action.object)
    .join(' ')
    .toLowerCase();
  const showsList =
    /\b(?:list|invoices|orders|results|history|transactions|stock|timetable|reports?|tickets|catalogue)\b/.test(
      objects,
    );
  const showsMedia = /\b(?:photo|image|picture|map|chart|dashboard|video|plan)s?\b/.test(objects);
  if (facts.received && machineMessage.test(facts.received)) return;
  if (facts.received) {
    d.outcome(
      'a screen 320 px wide',
      `${facts.actor} opens the ${facts.received}`,
      'its text and any link in it read without horizontal scrolling, and the link is at least 44 by 44 px',
    );
  } else if (showsList) {
    d.outcome(
      'a screen 320 px wide',
      `${facts.actor} looks at the list`,
      'each row becomes a card with its most important values first, without horizontal scrolling',
    );
  } else if (showsMedia) {
    d.outcome(
      'a screen 320 px wide',
      `${facts.actor} opens it`,
      'images, maps and charts scale to the width and can be zoomed without the page scrolling sideways',
    );
  } else {
    const labels = controlLabels(storyActions(facts));
    d.outcome(
      'a screen 320 px wide',
      `${facts.actor} tries to ${facts.action.phrase}`,
      labels.length === 0
        ? 'every control needed is visible without horizontal scrolling and is at least 44 by 44 px'
        : `the ${joinList(labels, 'and')} ${labels.length === 1 ? 'control is' : 'controls are'} visible without horizontal scrolling and at least 44 by 44 px, as is every other control the step needs`,
    );
  }
};

const responsiveNative: Rule = (context, d) => {
  const { facts } = context;
  d.pack('responsive-native');
  if (!facts.action) return;
  if (facts.kind !== 'view') {
    d.outcome(
      `the app goes to the background while ${facts.actor} is about to ${facts.action.phrase}`,
      'they come back to it',
      'their input is still there and nothing has been submitted twice',
    );
  }
  d.outcome(
    'the largest system text size',
    `${facts.actor} opens this ${context.surface}`,
    'every label and value stays readable without being cut off or overlapping',
  );
};

const languageSupport: Rule = (context, d) => {
  const { facts } = context;
  d.pack('language-support');
  if (facts.languages.length > 0) {
    d.outcome(
      `${facts.actor} has chosen ${joinList(facts.languages, 'or')}`,
      'they use this feature',
      'every text, including errors, confirmations and emails, is in that language, and switching language keeps their input',
    );
    d.system(
      `Every text of this feature comes from translation files for ${joinList(facts.languages, 'and')}; a missing translation fails the build.`,
    );
  } else if (!facts.english) {
    d.outcome(
      `${facts.actor} uses the product in ${facts.language.name}`,
      'they use this feature',
      `every text, including errors and confirmations, is in ${facts.language.name}`,
    );
    d.question(`Besides ${facts.language.name}, which languages must this feature support at launch?`);
  }
};

const localeFormatting: Rule = (context, d) => {
  const { facts } = context;
  d.pack('locale-formatting');
  const dates =
    /\b(?:date|time|times|tomorrow|today|month|week|term|deadline|schedule|morning|evening|hours?|days?|time zone)\b/.test(
      facts.subject,
    );
  if (dates && context.story.productType === 'api') {
    // Machines read an API's dates: one unambiguous format, not the caller's locale.
    d.system(
      'Dates and times in requests and responses are ISO 8601 with an explicit UTC offset, and a request with a date in another format gets 400 naming the field.',
    );
  } else if (dates && !d.has('outcomeCriteria', /time zone/)) {
    d.outcome(
      `${facts.actor} uses a locale such as fr-BE or en-US`,
      'dates and times are shown',
      'they follow that locale (14/03/2027 14:30 or 3/14/2027 2:30 PM), while they are stored in UTC',
    );
  }
  if (facts.places.length > 0) {
    d.outcome(
      `${facts.actor} is in ${joinList(facts.places, 'or')}`,
      'dates, numbers and addresses are shown',
      "they follow that region's conventions, including the first day of the week",
    );
  }
};

const culturalAppropriateness: Rule = (context, d) => {
  const { facts } = context;
  d.pack('cultural-appropriateness');
  if (facts.places.length > 0 || facts.languages.length > 1) {
    d.note(
      'Cultural review',
      `Have the texts and examples reviewed by a native speaker for each market (${joinList([...facts.places, ...facts.languages], 'and')}) before launch.`,
    );
  }
  if (/\b(?:invite|patient|guest|candidate|colleague|tenant|client|name)s?\b/.test(facts.subject)) {
    d.outcome(
      'a person whose name uses another script, has one part only or is long',
      'it is entered and shown',
      'it is kept exactly as written, with no forced first or last name',
    );
  }
};

const analytics: Rule = (context, d) => {
  const { facts } = context;
  d.pack('analytics');
  const action = facts.action;
  if (action && facts.benefit !== '') {
    d.system(
      `A weekly report shows how many ${plural(facts.role)} ${action.verb === 'log in' ? 'log in' : `${action.verb} ${action.object}`.trim()} and whether the story's benefit ("${context.story.statement.soThat}") follows, against a baseline measured in the 4 weeks before release.`,
    );
  } else if (action) {
    d.question(`Which number would show that this story worked, and what is its value today?`);
  }
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

/** The domain packs a story is about: from its role and wish, plus the API pack for API products. */
function storyPacks(facts: StoryFacts): DomainPack[] {
  // The benefit says why, not what is built ("afin de ne pas payer" is no payment): packs come from role and wish.
  // Each feature of a compound story brings its own domain ("save a search and get an email when ...").
  const cores = facts.english ? [facts.core, ...facts.features.slice(1).map(coreOf)] : [facts.subject];
  const found = cores.map((core) => packsFor(core, facts.english ? facts.subject : core));
  // A role suggests a domain only when nothing the story asks for names one: a shopper who shares a wishlist
  // is not checking out.
  const anyNamed = found.some((each) => each.named);
  const lists = found.map((each) => (anyNamed && !each.named ? [] : each.packs));
  // The strongest pack of every feature first, then the others.
  const ranked = [0, 1, 2].flatMap((rank) => lists.flatMap((list) => list[rank] ?? []));
  const packs = [...new Set(ranked)].slice(0, 3);
  // A file the actor brings in ("import employees from a CSV file") is no report or export going out.
  const bringsIn = /^(?:import|upload|attach)\b/.test(facts.action?.verb ?? '');
  const exportsToo = /\b(?:export|report|download)/i.test(facts.subject);
  const chosen = packs.filter((pack) => !(pack.id === 'reporting' && bringsIn && !exportsToo));
  const api = domainPacks.find((pack) => pack.id === 'public-api');
  if (facts.productType === 'api' && api && !chosen.includes(api)) chosen.push(api);
  return chosen;
}

/**
 * What the engine read from a story depends only on its text, notes and product type; the twelve iteration
 * calls of one run (and the passes after them) share it instead of reading a long story twelve times.
 */
const readings = new Map<string, { facts: StoryFacts; packs: DomainPack[] }>();
const remembered = 32;

/** The context every rule of one story reads. */
export function storyContext(submitted: Story): Context {
  // Iterations and passes read the same story: one that names an HTTP call is an API story for all of them.
  const story = readAs(submitted);
  const key = JSON.stringify([
    story.productType,
    story.statement,
    story.original,
    story.implementationNotes.map((note) => note.text),
  ]);
  let reading = readings.get(key);
  if (!reading) {
    const facts = storyFacts(story);
    reading = { facts, packs: storyPacks(facts) };
    readings.set(key, reading);
    if (readings.size > remembered) readings.delete(readings.keys().next().value ?? '');
  }
  return { story, ...reading, surface: surfaces[story.productType] };
}

/**
 * Keeps only sentences the grammar guard accepts; for each one it rejects, asks an open question instead, so
 * nothing half-filled reaches the reader.
 */
function guarded(patches: readonly Patch[], story: Story, iterationId: IterationId): Patch[] {
  const kept: Patch[] = [];
  let dropped = 0;
  for (const patch of patches) {
    if (patch.op === 'remove' || sentenceProblems(patch.text).length === 0) kept.push(patch);
    else dropped += 1;
  }
  const section = getIteration(iterationId).sections.includes('openQuestions')
    ? 'openQuestions'
    : 'implementationNotes';
  if (dropped > 0) {
    kept.push({
      op: 'add',
      section,
      target: '',
      text: `Which ${getIteration(iterationId).name.toLowerCase()} criteria apply to "${story.statement.iWant}"? The offline engine could not word ${dropped === 1 ? 'one' : dropped} from the story's text.`,
      topic: section === 'implementationNotes' ? getIteration(iterationId).name : '',
      given: '',
      when: '',
      then: '',
    });
  }
  return kept;
}

/**
 * The offline engine's answer to one iteration: criteria from the story's domain packs, from the values it
 * states and from its own action, each checked by the grammar guard. An iteration with nothing specific to add
 * returns no patches. Items already in the story are left out, so a re-run proposes nothing twice.
 * Verification feedback is kept as open questions (or notes), so nothing a reviewer raised gets lost.
 */
/** "POST /v2/shipments": a story that names an HTTP call is about an API, whatever product it belongs to. */
const httpCall = /\b(?:GET|POST|PUT|PATCH|DELETE)\s+\/[\w{}\-./:]*/u;

/**
 * The story as the rules read it: one that names an HTTP call is read as an API story, so a web product's
 * endpoint gets status codes and no screens, keyboards or buttons.
 */
function readAs(story: Story): Story {
  if (story.productType === 'api' || !httpCall.test(`${story.statement.iWant}\n${story.original}`))
    return story;
  return { ...story, productType: 'api' };
}

export function offlineIteration(
  submitted: Story,
  iterationId: IterationId,
  feedback: readonly string[],
): IterationOutput {
  const context = storyContext(submitted);
  const { story } = context;
  if (!getIteration(iterationId).productTypes.includes(story.productType)) {
    return {
      summary: `${getIteration(iterationId).name}: the story is about an HTTP call, which has no screen to check.`,
      patches: [],
      findings: [],
    };
  }
  const draft = new Draft(context);
  rules[iterationId](context, draft);
  if (story.productType !== submitted.productType && iterationId === 'validation') {
    draft.question(
      `The story names an HTTP call ("${httpCall.exec(`${story.statement.iWant}\n${story.original}`)?.[0] ?? ''}") but was submitted as a ${submitted.productType} product, so it was refined as an API story: is that right, or does it also need a screen?`,
    );
  }
  const existing = new Set(allItems(story).map((entry) => normalizeText(entry.text)));
  const seen = new Set<string>();
  const fresh = draft.patches.filter((patch) => {
    const key = `${patch.section}\n${normalizeText(patch.text)}`;
    if (patch.op === 'add' && (existing.has(normalizeText(patch.text)) || seen.has(key))) return false;
    seen.add(key);
    return true;
  });
  const patches = guarded(fresh, story, iterationId);
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
  const defects = draft.findings.length > 0 ? ` and reported ${draft.findings.length} story defect(s)` : '';
  return {
    summary:
      patches.length === 0 && draft.findings.length === 0
        ? `${getIteration(iterationId).name}: nothing specific to add for this story.`
        : `Added ${criteria.length} acceptance criteria${defects}.`,
    patches,
    findings: draft.findings,
  };
}

/** The criteria that check the values a story states (a deadline, an amount, a limit, a format...). */
export function factCriteria(story: Story): Patch[] {
  const context = storyContext(story);
  const draft = new Draft(context);
  statedValues(context, draft);
  return guarded(draft.patches, story, 'validation').filter((patch) => patch.section !== 'openQuestions');
}

/** The ids of the domain packs a story is about, strongest first. */
export function packIds(story: Story): string[] {
  return storyContext(story).packs.map((pack) => pack.id);
}
