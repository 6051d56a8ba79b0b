/*
 * The little English grammar the offline engine needs to read a story's wish and to write sentences about it:
 * which words are verbs, and their third-person and past-participle forms. A tagger such as compromise was
 * tried first; it tags the bare imperative phrases of user stories ("set discounts", "page through orders")
 * as nouns, so a word list the engine controls reads them more reliably.
 */

/** Verbs user stories ask for, in their base form. */
export const verbs: ReadonlySet<string> = new Set(
  `accept access activate add adjust administer attend borrow donate drive drop lend lease meet park rent ride visit allow analyse analyze annotate answer apply appoint approve archive arrange
  assign attach authenticate authorise authorize back bill block book browse buy calculate call cancel capture
  change charge chat check choose claim clear close collect combine comment compare complete compose configure
  confirm connect contact continue convert copy correct create crop deactivate debit decline delete deliver deny
  deposit describe detect disable dismiss dispatch display download draft drag duplicate edit email enable
  encrypt end enrol enroll enter erase estimate export extend fetch file fill filter find finish fix flag follow
  forward generate get give grant group handle hide highlight hire identify import include install invite invoice issue
  join keep label launch leave like limit link list load locate lock log look maintain manage mark measure merge message migrate
  modify monitor move mute name navigate notify obtain open order organise organize page pair pause pay pick pin
  place plan play post preview print prioritise prioritize process provide publish purchase queue rank rate reach
  read reassign receive recommend reconcile record recover redeem refer refresh refund register reject release
  reload remind remove rename renew reorder repeat replace reply report request reschedule reserve reset resolve
  restore restrict resume retry return reuse review revoke rotate save scan schedule search see select sell send
  set share shortlist show sign skip sort split start stop store stream submit subscribe suggest suspend swap
  switch sync synchronise take tag top track trade transfer translate turn undo unlock unsubscribe update upgrade
  upload use validate verify view vote watch withdraw write bookmark favourite favorite upvote downvote unfollow
  reactivate restock refill transcribe summarise summarize compile prepare reimburse settle escalate triage diagnose
  prescribe dispense vaccinate discharge assess evaluate endorse certify inspect purge wipe warn nominate delegate
  acknowledge unarchive unblock unpublish unmute dispute contest appeal rebook freeze unfreeze grade ship teach
  learn study practise practice train onboard offboard reward earn spend tip caption moderate ban unban mention
  react embed retract cite quote customise customize personalise personalize ask avoid exclude ignore override
  predict prefer reopen resize snooze wait zoom bring build clone define score hold match push make
  improve enhance optimise optimize simplify streamline redesign`.split(/\s+/),
);

/**
 * Verbs that are as often nouns ("a report", "the transfer"): after "and" or "or" they start a new action only
 * when an object, a preposition or another action follows them.
 */
export const nounLikeVerbs: ReadonlySet<string> = new Set(
  `answer back bill book call change chat check drive drop lease park ride visit comment copy credit debit draft email end file filter fix flag
  forward group invoice issue label like limit link list lock log look mark message name order page pin place plan
  play post preview print queue rank rate record refund release reply report request reserve return review scan
  schedule search share sign skip sort start stop store stream swap switch tag top trade transfer turn update
  upgrade upload use view vote watch bookmark favourite favorite refill discharge appeal dispute grade ship study
  practice train reward tip caption mention ban quote score hold match push`.split(/\s+/),
);

/** Particles that belong to the verb before them ("log in", "sign up", "check out"). */
const particles = new Set(['in', 'out', 'up', 'on', 'off', 'back', 'through', 'down']);
const phrasalVerbs = new Set([
  'log',
  'sign',
  'check',
  'opt',
  'top',
  'set',
  'back',
  'pick',
  'look',
  'turn',
  'fill',
  'page',
  'drill',
  'follow',
  'hand',
]);

export const determiners: ReadonlySet<string> = new Set(
  'a an the my our their your his her its this these those each every all another some any one no'.split(' '),
);
export const prepositions: ReadonlySet<string> = new Set(
  'to from with by of for in on at into onto via through without within about over under between after before during per as across against along around'.split(
    ' ',
  ),
);

/** True when `word` (lower-case) is a verb in its base form. */
export function isVerb(word: string): boolean {
  return verbs.has(word.toLowerCase());
}

/** The particle after a phrasal verb ("in" after "log"), or "" when `next` is not one. */
export function particleAfter(verb: string, next: string | undefined): string {
  const particle = (next ?? '').toLowerCase();
  return phrasalVerbs.has(verb.toLowerCase()) && particles.has(particle) ? particle : '';
}

const irregular: Record<string, { third?: string; participle: string }> = {
  be: { third: 'is', participle: 'been' },
  have: { third: 'has', participle: 'had' },
  do: { third: 'does', participle: 'done' },
  go: { third: 'goes', participle: 'gone' },
  buy: { participle: 'bought' },
  choose: { participle: 'chosen' },
  find: { participle: 'found' },
  get: { participle: 'got' },
  give: { participle: 'given' },
  hide: { participle: 'hidden' },
  keep: { participle: 'kept' },
  leave: { participle: 'left' },
  make: { participle: 'made' },
  pay: { participle: 'paid' },
  read: { participle: 'read' },
  see: { participle: 'seen' },
  sell: { participle: 'sold' },
  send: { participle: 'sent' },
  set: { participle: 'set' },
  show: { participle: 'shown' },
  split: { participle: 'split' },
  take: { participle: 'taken' },
  undo: { third: 'undoes', participle: 'undone' },
  withdraw: { participle: 'withdrawn' },
  write: { participle: 'written' },
  put: { participle: 'put' },
  upset: { participle: 'upset' },
  reset: { participle: 'reset' },
  forecast: { participle: 'forecast' },
  freeze: { participle: 'frozen' },
  unfreeze: { participle: 'unfrozen' },
  broadcast: { participle: 'broadcast' },
  input: { participle: 'input' },
  output: { participle: 'output' },
  rebuild: { participle: 'rebuilt' },
  build: { participle: 'built' },
  hold: { participle: 'held' },
  bring: { participle: 'brought' },
  override: { participle: 'overridden' },
  rewrite: { participle: 'rewritten' },
  draw: { participle: 'drawn' },
  know: { participle: 'known' },
};

/** Verbs whose final consonant doubles before -ed ("transfer" -> "transferred"). */
const doubling = new Set([
  'transfer',
  'submit',
  'cancel',
  'scan',
  'plan',
  'ship',
  'stop',
  'tag',
  'drop',
  'chat',
  'pin',
  'log',
  'refer',
  'prefer',
  'swap',
  'drag',
  'top',
  'flag',
  'map',
  'skip',
  'shop',
  'label',
  'control',
  'enrol',
  'pat',
  'zip',
  'clip',
  'commit',
  'admit',
  'permit',
]);

function splitPhrasal(verb: string): { head: string; tail: string } {
  const [head = '', ...rest] = verb.trim().split(/\s+/);
  return { head, tail: rest.length > 0 ? ` ${rest.join(' ')}` : '' };
}

/** "send" -> "sends", "log in" -> "logs in", "pay" -> "pays", "reply" -> "replies". */
export function thirdPerson(verb: string): string {
  const { head, tail } = splitPhrasal(verb);
  const lower = head.toLowerCase();
  const known = irregular[lower]?.third;
  if (known) return `${known}${tail}`;
  if (/(s|x|z|ch|sh|o)$/.test(lower)) return `${head}es${tail}`;
  if (/[^aeiou]y$/.test(lower)) return `${head.slice(0, -1)}ies${tail}`;
  return `${head}s${tail}`;
}

/**
 * "releases" -> "release", "copies" -> "copy", "goes" -> "go": the known verb whose third person `word` is;
 * undefined when none is.
 */
export function baseOfThirdPerson(word: string): string | undefined {
  const lower = word.toLowerCase();
  const candidates = [lower.replace(/s$/, ''), lower.replace(/es$/, ''), lower.replace(/ies$/, 'y')];
  return candidates.find((base) => base !== lower && isVerb(base) && thirdPerson(base) === lower);
}

/** "send" -> "sent", "transfer" -> "transferred", "sign up" -> "signed up". */
const irregularParticiples = new Set(
  Object.values(irregular)
    .map((forms) => forms.participle)
    .filter((participle) => !participle.endsWith('ed')),
);

/** "shown", "given", "written": an irregular participle, which can end a noun phrase like "-ed" does. */
export function isIrregularParticiple(word: string): boolean {
  return irregularParticiples.has(word.toLowerCase());
}

export function pastParticiple(verb: string): string {
  const { head, tail } = splitPhrasal(verb);
  const lower = head.toLowerCase();
  const known = irregular[lower]?.participle;
  if (known) return `${known}${tail}`;
  if (doubling.has(lower)) return `${head}${head.slice(-1)}ed${tail}`;
  if (lower.endsWith('e')) return `${head}d${tail}`;
  if (/[^aeiou]y$/.test(lower)) return `${head.slice(0, -1)}ied${tail}`;
  return `${head}ed${tail}`;
}

/** "categories" -> "category", "boxes" -> "box", "guests" -> "guest"; a word that is not a plural stays. */
export function singular(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && /(?:ss|sh|ch|x)es$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !/(?:ss|us|is)$/.test(word)) return word.slice(0, -1);
  return word;
}
