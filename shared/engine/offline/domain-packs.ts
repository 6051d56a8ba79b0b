import type { IterationId, SectionName } from '../catalog';
import type { ActionKind } from './story-facts';

/**
 * Domain knowledge for the offline engine: what a reviewer who knows the domain checks in a story about it.
 * Data, not code paths: a pack is chosen from what the story is about, and its items are written in the
 * story's actor voice ({actor} = "the bank customer"). Numbers in criteria are proposals the pack's question
 * asks the product owner to confirm.
 */
export interface PackItem {
  iteration: IterationId;
  section: SectionName;
  /** Outcome criteria: the Given/When/Then steps. */
  given?: string;
  when?: string;
  then?: string;
  /** Every other section: the item's text. */
  text?: string;
  topic?: string;
  /** Only for stories whose text matches. */
  onlyIf?: RegExp;
  /** Never for stories whose text matches (the item would contradict them). */
  unless?: RegExp;
  /**
   * Only for stories whose action is of one of these kinds (a slot conflict matters when booking, not when
   * looking at bookings); stories whose action the engine could not read get the item.
   */
  kinds?: readonly ActionKind[];
}

type Condition = Pick<PackItem, 'onlyIf' | 'unless' | 'kinds'>;

export interface DomainPack {
  id: string;
  name: string;
  /** Words of the role or the wish (any common story language) that put a story in this domain. */
  triggers: RegExp;
  items: readonly PackItem[];
}

type Section = 'outcome' | 'system' | 'question' | 'note';

const sections: Record<Section, SectionName> = {
  outcome: 'outcomeCriteria',
  system: 'systemCriteria',
  question: 'openQuestions',
  note: 'implementationNotes',
};

function outcome(
  iteration: IterationId,
  given: string,
  when: string,
  then: string,
  condition: Condition = {},
): PackItem {
  return { iteration, section: sections.outcome, given, when, then, ...condition };
}

function item(
  iteration: IterationId,
  section: Exclude<Section, 'outcome'>,
  text: string,
  condition: Condition & { topic?: string } = {},
): PackItem {
  return { iteration, section: sections[section], text, ...condition };
}

/** The story sends codes or links by text message, not by email. */
const bySms = /\bsms\b|text message|by phone|mobile number/;

/** A number with a time unit in the story languages: a booking window or a deadline the story already states. */
const statedDuration = String.raw`\d+\s*(?:hours?|days?|weeks?|months?|heures?|jours?|semaines?|mois|stunden?|tage?n?|wochen?|monate?n?|horas?|días?|dias?|semanas?|meses|uur|uren|dagen|weken|maanden|ore|giorni|settimane|mesi)`;

const transferWords =
  /transfer|send money|wire|iban|another account|virement|virer|autre compte|überweis|anderes konto|transferencia|otra cuenta|overma|overboek|andere rekening|bonifico|altro conto|transferir|outra conta/;
const walletWords = /apple pay|google pay|wallet/;
/** A permit (parking, residence, work) is issued for a period and renewed; it is not a subscription. */
const permit = /\bpermits?\b/;

/** Paying by card: 3-D Secure, the card provider's answer. */
const cardWords = /\b(?:credit |debit )?cards?\b/;
/**
 * Paying by card to a shop, a restaurant or a service that is not the actor's bank: the product shows no account
 * the money leaves and no payee list, so balance and new-payee criteria would not fit.
 */
const cardOutsideBank = new RegExp(
  `^(?![\\s\\S]*\\b(?:bank|banking|account holder)\\b)[\\s\\S]*${cardWords.source}`,
);
/** The actor is paid rather than paying: criteria about their balance going down would contradict the story. */
const collecting =
  /\bcollect\w*|get paid|be paid|accept(?:s|ing)? (?:card )?payments?|charge (?:my|our|the|a|their) (?:customers?|clients?|tenants?|members?|guests?)|encaisser|einziehen|cobrar|incass/;
const directDebit =
  /direct debit|lastschrift|prélèvement|domiciliación|adeudo directo|incasso|addebito diretto|débito direto/;
const buying = /\b(?:checkout|check out|basket|cart|buy|buys|buying|purchase\w*|pay|pays|paying)\b/;
/**
 * Ordering as a buyer, narrower than `buying` (paying is not ordering): whether an account is needed is the
 * checkout's question, not a sign-in step's.
 */
export const ordersGoods = /checkout|basket|cart|\bbuy\b|purchase/;
/** The actor sells: checkout items are written for the buyer. */
const sellerSide = /shop owner|seller|merchant|vendor|\bsell/;
/** Goods with no basket, delivery or stock to speak of: what is bought is a right, held in the account. */
const digitalGoods =
  /\b(?:tickets?|pass(?:es)?|subscriptions?|licen[cs]es?|credits|e-?books?|vouchers?|gift cards?|memberships?|downloads?)\b/;
/** Checkout items about a basket of physical goods: neither for a seller nor for digital goods. */
const notPhysical = new RegExp(`${sellerSide.source}|${digitalGoods.source}`);

/**
 * Items about asking for a file (an export, a download, a report): not for a story that sends or shares a file
 * someone else receives ("send the statement as a PDF to all tenants"), where nobody asks for it.
 */
const fileKinds: readonly ActionKind[] = ['get', 'view', 'create'];

/** A story that names the accepted file type and the largest size ("a PDF of at most 20 MB"). */
const statesType = /\b(?:pdf|csv|jpe?g|png|heic|gif|docx?|xlsx?|mp4|mov|zip|svg)\b/;
const statesSize = /\b\d[\d,.]*\s?(?:kb|mb|gb)\b/;
const statesTypeAndSize = new RegExp(`^(?=[\\s\\S]*${statesType.source})(?=[\\s\\S]*${statesSize.source})`);
const statesTypeOrSize = new RegExp(`${statesType.source}|${statesSize.source}`);

/** The actor offers times that others book ("publish a meeting slot", "open class sessions"). */
const offersSlots =
  /\b(?:publish|offer|open|add|create|set up|release|post|define)\w*\s+(?:(?:a|an|the|my|our|their|new|available|free|more|\d+)\s+)*(?:[a-z-]+\s+){0,2}?(?:slots?|availability|available times|shifts?|sessions?)\b/;

/** Closing one's own account: the sign-in pack's business, with none of its sign-in checks. */
const deletesAccount = /delete (?:my|their) account|account deletion|close (?:my|their) account/;

/** Looking for what is near the actor: results come by distance, not by words typed. */
const searchesByPosition = /\b(?:nearest|closest|nearby|near me|around me)\b/;

/** Sending a place as part of what is reported ("report a pothole with its location"). */
const reportsPosition =
  /\b(?:report|submit|log|record|add|pin|flag)\b[^.]*\b(?:location|position|where it is)\b/;

/** Being guided somewhere on a map. */
const followsRoute = /\b(?:route|routes|directions|navigat\w*|bike lanes)\b/;

/** Recording where one went: the track is kept, as the actor's own. */
const recordsTrack =
  /\b(?:record|track)\w*\b[^.]*\b(?:gps|rides?|runs?|walks?|hikes?|routes?|tracks?|trips?|journeys?)\b/;

export const domainPacks: readonly DomainPack[] = [
  {
    id: 'payments',
    name: 'Payments and transfers',
    triggers:
      /\b(?:transfer|pay|pays|payment|payments|send money|money|wire|iban|direct debit|top up|withdraw|deposit|instal?ments?|paypal|apple pay|google pay|rent|donate|donation|donations|virement|virer|argent|payer|überweis\w*|geld|bezahlen|transferencia|transferir|dinero|dinheiro|pagar|overma\w*|betalen|bonifico|trasferire|denaro|pagare)\b/iu,
    items: [
      outcome(
        'user-roles',
        '{actor} holds or may operate several accounts',
        'they start a transfer',
        'only accounts they own or are authorised to operate are offered as the account to pay from',
        { onlyIf: transferWords },
      ),
      outcome(
        'validation',
        'an amount of zero, a negative amount, an amount with more than two decimals or one above the available balance',
        '{actor} confirms the payment',
        'it is refused with the reason shown and no money moves',
        {
          onlyIf:
            /transfer|send money|top up|withdraw|deposit|iban|virer|überweis|transferir|overma|bonifico/,
        },
      ),
      outcome(
        'validation',
        'a recipient IBAN whose check digits are wrong',
        '{actor} enters it',
        'it is flagged next to the field before the transfer can be confirmed',
        { onlyIf: transferWords },
      ),
      outcome(
        'interactive-elements',
        'the payment details are complete',
        '{actor} reviews them',
        'a summary shows the account paid from, the recipient, the amount, any fee and the execution date, and nothing is executed before they confirm',
        { onlyIf: transferWords },
      ),
      outcome(
        'interactive-elements',
        'the payment was executed',
        '{actor} opens the account it was paid from',
        'the balance is lower by exactly the amount plus any fee shown, and the payment is listed with its recipient and reference',
        { unless: new RegExp(`${walletWords.source}|${collecting.source}|${cardOutsideBank.source}`) },
      ),
      outcome(
        'interactive-elements',
        'a payment {actor} collects is returned or fails',
        '{actor} looks at their payments',
        'it is marked as failed with the reason and the date, and its amount is not counted as received',
        { onlyIf: collecting },
      ),
      item(
        'security',
        'system',
        'A direct debit is collected only under a mandate the payer has signed, and the payer is told the amount and the date at least 14 days before each collection unless agreed otherwise (SEPA pre-notification).',
        { onlyIf: directDebit },
      ),
      item(
        'security',
        'system',
        'Each payment request carries an idempotency key; a repeated request with the same key within 24 hours returns the first result and moves money only once.',
      ),
      item(
        'security',
        'system',
        'A payment to a new recipient, or above the per-payment threshold, is executed only after strong customer authentication with two independent factors (PSD2).',
        { unless: new RegExp(`${walletWords.source}|${collecting.source}|${cardOutsideBank.source}`) },
      ),
      item(
        'security',
        'system',
        'Each card payment is authorised with 3-D Secure unless the provider applies an exemption, and a declined card is reported to {actor} with the reason the provider gives, with nothing charged.',
        { onlyIf: cardWords, unless: collecting },
      ),
      item(
        'performance',
        'system',
        'The debit and the credit of a transfer are written in one ledger transaction: a failure between them leaves both balances unchanged and is logged with the transfer id.',
        { onlyIf: transferWords },
      ),
      item(
        'locale-formatting',
        'system',
        'Amounts are stored as integer minor units with an ISO 4217 currency code and formatted for the reader only when shown.',
      ),
      item(
        'analytics',
        'system',
        'The events "payment started", "payment confirmed" and "payment failed" carry the payment id, the failure reason and an amount band, never the exact amount or the account number.',
      ),
      item(
        'validation',
        'question',
        'Which payment types are in scope (between own accounts, domestic, SEPA, instant, international), and which daily and per-payment limits apply?',
        { onlyIf: transferWords },
      ),
      item(
        'user-roles',
        'question',
        'Is the transfer executed at once (instant, credited within 10 seconds) or on the next business day, and may {actor} schedule it for a later date?',
        { onlyIf: transferWords },
      ),
      outcome(
        'interactive-elements',
        'Apple Pay or Google Pay is set up on the device',
        '{actor} chooses it',
        "the wallet's payment sheet shows the total and the shop's name, and the order is placed only after the wallet confirms",
        { onlyIf: walletWords },
      ),
      outcome(
        'responsive-native',
        'no wallet is set up on the device',
        'the payment step opens',
        'the wallet buttons are hidden and the saved card is offered instead',
        { onlyIf: walletWords },
      ),
      item(
        'security',
        'system',
        "Card numbers never reach the product's servers: saved cards and wallets are charged through the payment provider's tokens (PCI DSS scope stays with the provider).",
        { onlyIf: /card|apple pay|google pay|wallet|checkout/ },
      ),
    ],
  },
  {
    id: 'sign-in',
    name: 'Sign-in and accounts',
    triggers:
      /\b(?:log ?in|logs? in|sign(?:s|ed)? in|sign(?:s|ed)? up(?!\s+for\s+(?!an?\s+account))|password|passwords|credentials|two-factor|2fa|sso|single sign-on|passkey|magic link|forgot|account deletion|delete (?:my|their) account|create an account|access tokens?|refresh tokens?|connexion|mot de passe|anmeld\w*|passwort|iniciar sesión|contraseña|inloggen|wachtwoord|accedere)\b/iu,
    items: [
      outcome(
        'user-roles',
        '{actor} is not signed in',
        'they open a page that needs their account',
        'they are asked to sign in and afterwards return to that page',
        { onlyIf: /log ?in|sign in|order history/, unless: /forgot|reset/ },
      ),
      outcome(
        'validation',
        'a wrong email address or a wrong password',
        '{actor} tries to sign in',
        'the same message "Email or password is incorrect" appears for both, so nobody learns which addresses have an account',
        { onlyIf: /\blog in\b|\bsign in\b|email and password/, unless: /forgot|reset/ },
      ),
      item(
        'security',
        'system',
        'After 5 failed sign-ins for one account within 15 minutes, further attempts for that account wait 15 minutes, and the account holder is told by email.',
        { onlyIf: /log ?in|sign in|password/, unless: /forgot|reset/ },
      ),
      item(
        'security',
        'system',
        'Passwords are stored only as Argon2id or bcrypt hashes; a successful sign-in issues a new session id, and a session ends after 30 minutes without activity.',
        { onlyIf: /log ?in|sign in|password/ },
      ),
      outcome(
        'validation',
        'any email address, registered or not',
        '{actor} asks for a password reset',
        'the page shows the same confirmation, so nobody learns which addresses have an account',
        { onlyIf: /forgot|reset/, unless: bySms },
      ),
      outcome(
        'security',
        '{actor} received a reset link by email',
        'they open it and set a new password',
        'the link works once and stops working after use or after 30 minutes',
        { onlyIf: /forgot|reset/, unless: bySms },
      ),
      outcome(
        'validation',
        'any phone number, registered or not',
        '{actor} asks for a password reset',
        'the page shows the same confirmation, so nobody learns which numbers have an account',
        {
          onlyIf: new RegExp(
            `(?:forgot|reset)[^]*(?:${bySms.source})|(?:${bySms.source})[^]*(?:forgot|reset)`,
          ),
        },
      ),
      outcome(
        'security',
        '{actor} received a reset code by SMS',
        'they enter it and set a new password',
        'the code works once, stops working after use or after 10 minutes, and 5 wrong codes in a row block it',
        {
          onlyIf: new RegExp(
            `(?:forgot|reset)[^]*(?:${bySms.source})|(?:${bySms.source})[^]*(?:forgot|reset)`,
          ),
        },
      ),
      outcome(
        'security',
        'the password was just changed',
        'the change is saved',
        'every other session of the account is signed out and the account holder receives an email about the change',
        { onlyIf: /forgot|reset|change (?:my|their) password/ },
      ),
      outcome(
        'validation',
        'a new password shorter than 12 characters or found in a list of breached passwords',
        '{actor} submits it',
        'it is refused with the rule it breaks',
        { onlyIf: /forgot|reset|sign up|create an account|change (?:my|their) password/ },
      ),
      outcome(
        'accessibility',
        'a password manager or the browser holds the credentials',
        'it fills the sign-in form',
        'both fields accept the values and pasting is allowed',
        { onlyIf: /log ?in|sign in|password/, unless: /forgot|reset/ },
      ),
      outcome(
        'security',
        'a valid refresh token',
        '{actor} exchanges it for a new access token',
        'a new access token and a new refresh token are returned, and the old refresh token stops working',
        { onlyIf: /refresh token/ },
      ),
      outcome(
        'security',
        'a refresh token that was already used',
        'it is presented again',
        'it is refused with 401 and every token issued from it is revoked, since only a stolen copy can be used twice',
        { onlyIf: /refresh token/ },
      ),
      outcome(
        'security',
        '{actor} confirms that their account should be deleted',
        'the deletion is processed',
        'their personal data is erased or anonymised within 30 days and they receive a confirmation',
        { onlyIf: deletesAccount },
      ),
      outcome(
        'security',
        '{actor} asks to delete their account',
        'they confirm',
        'they are asked to prove it is them again (their password or a code sent to them) before anything is deleted',
        { onlyIf: deletesAccount },
      ),
      outcome(
        'validation',
        'the account still has an open order, a running subscription or a balance',
        '{actor} asks to delete it',
        'they are told what happens to each before they confirm, and nothing is deleted until they do',
        { onlyIf: deletesAccount },
      ),
      item(
        'user-roles',
        'question',
        'Which records must be kept after the account is deleted (invoices, for how many years), and are they kept without the personal data?',
        { onlyIf: deletesAccount },
      ),
      item(
        'analytics',
        'system',
        'Sign-in and reset outcomes are counted by result (success, wrong credentials, locked, expired link) without email addresses in the events.',
        { onlyIf: /log ?in|sign in|sign up|password|forgot|reset|credentials/ },
      ),
      item(
        'security',
        'question',
        'Which sign-in methods are in scope (password, passkey, single sign-on), is two-factor authentication required, and are the limits above (5 attempts, 15 minutes, 30 minutes) right?',
        { onlyIf: /log ?in|sign in|password/, unless: /forgot|reset/ },
      ),
    ],
  },
  {
    id: 'booking',
    name: 'Booking and scheduling',
    triggers:
      /\b(?:(?<!\b(?:the|a|an|my|our|their|your|his|her|this|these|those|of|library|e-|audio|text|note|account|cheque|check)[\s-]?)books?|booking|bookings|appointments?|reserve|reservation|(?:schedule|scheduling)(?!\s+(?:(?:a|an|the|my|our|their|each)\s+)?(?:[\p{L}-]+\s+)?(?:newsletters?|posts?|emails?|messages?|reports?|campaigns?|tweets?|exports?|backups?|jobs?|payments?|transfers?|reminders?|notifications?|banners?|articles?|announcements?|promotions?|releases?|deployments?|broadcasts?|ads?|adverts?|videos?|episodes?|updates?))|slots?|calendar|reschedule|shifts?|classes|class|check in|check-in|rendez-vous|réserv\w*|termin\w*|buchen|buchung|reservar|cita|afspraak|boeken|prenot\w*)\b/iu,
    items: [
      outcome(
        'validation',
        'a slot that someone else booked a moment earlier',
        '{actor} confirms it',
        'the booking is refused, nothing is charged, and the nearest free slots are offered',
        {
          onlyIf: /book|reserv|slot|appointment|class|shift|table|réserv|buchen|reservar|boeken|prenot/,
          unless: offersSlots,
          kinds: ['create', 'change'],
        },
      ),
      outcome(
        'validation',
        'a time in the past or outside opening hours',
        '{actor} picks a date and time',
        'it cannot be chosen and the reason is shown',
        { unless: /check in|check-in|newsletter/, kinds: ['create', 'change'] },
      ),
      item(
        'security',
        'system',
        'Two bookings of the same slot cannot both succeed: of two confirmations arriving within the same second, exactly one is accepted (shown by a concurrency test).',
        { onlyIf: /book|reserv|slot|appointment|class|shift|table/, kinds: ['create', 'change'] },
      ),
      outcome(
        'interactive-elements',
        'the booking is confirmed',
        '{actor} looks at the confirmation',
        'it shows the date, the time with its time zone, the place and how to cancel or move it',
        {
          unless: new RegExp(`check in|check-in|newsletter|${offersSlots.source}`),
          kinds: ['create', 'change'],
        },
      ),
      outcome(
        'interactive-elements',
        'an existing booking',
        '{actor} moves it to another free slot',
        'the old slot is released only once the new one is confirmed, so they never end up with neither',
        { onlyIf: /move|reschedule|change/ },
      ),
      outcome(
        'interactive-elements',
        'a booking before its cancellation deadline',
        '{actor} cancels it',
        'the slot is free for others at once and they see a confirmation of the cancellation',
        { onlyIf: /cancel|annul|stornier|absagen|cancelar|anular|annuleren|afzeggen|disdire/ },
      ),
      outcome(
        'locale-formatting',
        'the place of the booking is in another time zone than {actor}',
        'they look at the time',
        "it is shown in the place's local time with the time zone named",
      ),
      item(
        'analytics',
        'system',
        'Bookings are counted as started, confirmed, moved and cancelled per day, and the step where an unfinished booking was abandoned is recorded.',
      ),
      item('validation', 'question', 'How far ahead can {actor} book?', {
        unless: new RegExp(
          `${offersSlots.source}|check in|check-in|newsletter|${statedDuration}\\s+(?:ahead|in advance|à l'avance|à l’avance|im voraus|de antelación|con antelación|de antecedência|van tevoren|in anticipo)`,
        ),
        kinds: ['create', 'change'],
      }),
      item(
        'validation',
        'question',
        'Until when before the start can {actor} cancel or move without a fee, and what happens after a no-show?',
        {
          unless: new RegExp(
            `${offersSlots.source}|check in|check-in|newsletter|${statedDuration}\\s+(?:before|prior to|avant|vorher|vor|antes|voor|prima)`,
          ),
          kinds: ['create', 'change', 'remove'],
        },
      ),
      outcome(
        'accessibility',
        '{actor} uses a keyboard or a screen reader',
        'they pick a slot',
        'the slot picker works without a mouse and each slot is announced with its date, time and whether it is free',
        { unless: /check in|check-in|newsletter/, kinds: ['create', 'change'] },
      ),
      outcome(
        'validation',
        'a slot {actor} published',
        'someone books it',
        'it is no longer offered to anyone else, and {actor} sees who booked it',
        { onlyIf: offersSlots },
      ),
      outcome(
        'interactive-elements',
        'a published slot that is already booked',
        '{actor} changes or removes it',
        'the person who booked it is told at once and offered another time',
        { onlyIf: offersSlots },
      ),
      item(
        'validation',
        'question',
        'Who may book the published slots, how far ahead, and until when before the start can a booking be cancelled?',
        { onlyIf: offersSlots },
      ),
      outcome(
        'validation',
        'the check-in window has not opened yet or has closed',
        '{actor} tries to check in',
        'they see when the window opens or whom to contact instead',
        { onlyIf: /check in|check-in/ },
      ),
    ],
  },
  {
    id: 'search',
    name: 'Search and filtering',
    triggers:
      /\b(?:search|searches|filter|filters|filtering|find|sort|browse|look up|query|queries|keyword|rechercher|recherche|suchen|suche|buscar|búsqueda|zoeken|cercare|ricerca)\b/iu,
    items: [
      outcome(
        'validation',
        'no item matches what {actor} asked for',
        'the results are shown',
        'they see "no results" with the terms and filters they used and a way to clear them, never an empty page',
        { unless: searchesByPosition },
      ),
      outcome(
        'interactive-elements',
        'several filters are set',
        'the results are shown',
        'only items matching all of them appear, the active filters are listed, and each one can be removed on its own',
        { onlyIf: /filter/ },
      ),
      outcome(
        'interactive-elements',
        'filters or a search are set',
        '{actor} reloads the page or shares its address',
        'the same filters and results appear',
        { onlyIf: /filter|search/, unless: /api|endpoint/ },
      ),
      outcome(
        'validation',
        'a search term with a typo, accents or different capitals',
        '{actor} searches',
        'the items spelt correctly are still found',
        { onlyIf: /search|keyword|find|look up/, unless: searchesByPosition },
      ),
      item(
        'performance',
        'system',
        'With 100,000 items indexed, 95% of searches and filter changes answer within 1 second under the expected peak load, shown by a load test.',
        { unless: searchesByPosition },
      ),
      item(
        'security',
        'system',
        'Search terms are escaped wherever they are shown again, and a term longer than 200 characters is cut with a notice rather than sent to the search engine.',
        { unless: searchesByPosition },
      ),
      outcome(
        'accessibility',
        '{actor} uses a screen reader',
        'the results change after a search or a filter',
        'the number of results is announced without moving the focus',
      ),
      item(
        'analytics',
        'system',
        'Searches that return no results are counted by search term each week, so missing items or synonyms can be added.',
        { unless: searchesByPosition },
      ),
      item(
        'validation',
        'question',
        'How are results ordered by default (relevance, newest, price), and can {actor} change the order?',
        { unless: searchesByPosition },
      ),
    ],
  },
  {
    id: 'uploads',
    name: 'Uploads and media',
    triggers:
      /\b(?:upload|uploads|photos?|images?|pictures?|videos?|files?|attachments?|attach|receipts?|documents?|camera|gallery|avatar|worksheet|floor plan|téléverser|hochladen|foto|fotos|subir|uploaden|caricare)\b/iu,
    items: [
      // What the story states (a type, a size) has a criterion of its own; the pack checks the rest.
      outcome(
        'validation',
        'a file of a type or size that is not accepted',
        '{actor} chooses it',
        'it is refused before the upload starts, naming the accepted types and the maximum size',
        { unless: statesTypeOrSize },
      ),
      outcome(
        'validation',
        'a file larger than the maximum size',
        '{actor} chooses it',
        'it is refused before the upload starts, naming the maximum size',
        { onlyIf: statesType, unless: statesSize },
      ),
      outcome(
        'validation',
        'a file of a type that is not accepted',
        '{actor} chooses it',
        'it is refused before the upload starts, naming the accepted types',
        { onlyIf: statesSize, unless: statesType },
      ),
      outcome(
        'interactive-elements',
        'a large file on a slow connection',
        '{actor} uploads it',
        'progress is shown, they can cancel, and a failed upload can be retried without choosing the file again',
      ),
      item(
        'security',
        'system',
        'Each uploaded file is checked by its content rather than its name, scanned for malware, and images are re-encoded without location (EXIF GPS) data before anyone else can open them.',
      ),
      item(
        'security',
        'system',
        'Stored files are served only to people allowed to see them, through links that expire after 15 minutes.',
      ),
      outcome(
        'interactive-elements',
        'a photo taken in portrait or with a crop chosen in the preview',
        'it is shown after the upload',
        'it appears the right way up and cropped exactly as previewed',
        { onlyIf: /photo|image|picture|avatar/ },
      ),
      outcome(
        'accessibility',
        'an image that other people will see',
        '{actor} uploads it',
        'they can add a text description that screen readers read out in place of the image',
        { onlyIf: /photo|image|picture|avatar/ },
      ),
      item(
        'performance',
        'system',
        'A 10 MB file uploads within 15 seconds on a 10 Mbit/s connection, and thumbnails are ready within 5 seconds after the upload ends.',
        { onlyIf: /photo|image|picture|avatar|video/ },
      ),
      item('performance', 'system', 'A 10 MB file uploads within 15 seconds on a 10 Mbit/s connection.', {
        unless: /photo|image|picture|avatar|video/,
      }),
      item(
        'validation',
        'question',
        'Which file types and which maximum size are accepted, and how long are uploaded files kept?',
        { unless: statesTypeOrSize },
      ),
      item(
        'validation',
        'question',
        'Which maximum size is accepted, and how long are uploaded files kept?',
        {
          onlyIf: statesType,
          unless: statesSize,
        },
      ),
      item('validation', 'question', 'Which file types are accepted, and how long are uploaded files kept?', {
        onlyIf: statesSize,
        unless: statesType,
      }),
      // The story already says which type and how large: only what it leaves open is asked.
      item('validation', 'question', 'How long are uploaded files kept, and who may delete them?', {
        onlyIf: statesTypeAndSize,
      }),
    ],
  },
  {
    id: 'notifications',
    name: 'Notifications',
    triggers:
      /\b(?:notify|notified|notifications?|remind|reminded|reminders?|alerts?|alerted|by e-?mail|an e-?mail|(?:reminder|welcome|confirmation|follow-up|thank-you) e-?mails?|sms|push|text messages?|newsletters?|rappel|benachrichtigung\w*|erinnerung\w*|recordatorio|notificaci\w+|melding\w*|herinnering\w*|promemoria|notifica)\b/iu,
    items: [
      item(
        'validation',
        'system',
        'Each event produces at most one notification per recipient and channel: a retry after a time-out does not send a duplicate (deduplicated by event id).',
      ),
      item(
        'performance',
        'system',
        'A notification that cannot be delivered (bounced email, unreachable phone) is retried 3 times within 1 hour, then marked failed and logged with the reason.',
      ),
      outcome(
        'user-roles',
        'the recipient has turned this kind of notification off',
        'the event happens',
        'no notification of that kind is sent to them',
        { unless: /password|reset|security|legal/ },
      ),
      outcome(
        'locale-formatting',
        'a notification names a date or a time',
        'the recipient reads it',
        'the time is given in their time zone, with the zone named',
      ),
      item(
        'security',
        'system',
        'Marketing emails carry a working one-click unsubscribe link, and an unsubscribe takes effect within 24 hours.',
        { onlyIf: /newsletter|marketing|campaign/ },
      ),
      outcome(
        'security',
        '{actor} has subscribed with an email address',
        'they have not confirmed it from the email sent to that address',
        'nothing else is sent to it, so nobody can sign someone else up',
        { onlyIf: /subscribe|sign up for|newsletter|mailing list/ },
      ),
      item(
        'security',
        'system',
        'An SMS text holds only what the recipient needs to act, never an account number, a password or health data: a lock screen shows it to anyone nearby.',
        { onlyIf: /sms|text message/ },
      ),
      outcome(
        'interactive-elements',
        'a push notification on the lock screen',
        'the recipient taps it',
        'the app opens on the item it is about',
        { onlyIf: /push/ },
      ),
      item(
        'analytics',
        'system',
        'Notifications are counted as sent, delivered, opened and failed per kind and channel each day.',
      ),
      item(
        'user-roles',
        'question',
        'Which channels (email, SMS, push) carry this notification, and may the recipient choose among them?',
        { unless: /sms|push/ },
      ),
    ],
  },
  {
    id: 'checkout',
    name: 'Checkout and orders',
    triggers:
      /\b(?:checkout|check out|basket|cart|place an order|my orders|buy|buys|purchase|shop|shopper|products|product photos|shipping|parcel|panier|commande|warenkorb|bestellung|carrito|pedido|winkelwagen|bestelling|carrello|ordine)\b/iu,
    items: [
      outcome(
        'interactive-elements',
        'items in the basket',
        '{actor} reaches the payment step',
        'the total lists items, delivery, taxes and discounts, and the amount charged equals that total',
        { onlyIf: buying, unless: notPhysical },
      ),
      outcome(
        'validation',
        'an item that went out of stock after it was added',
        '{actor} checks out',
        'they are told before paying and can remove it or wait for it',
        // A buyer's basket; "which products are low on stock" is a shop's own stock, not a purchase.
        { onlyIf: /checkout|basket|cart|\bbuy\b|purchase/, unless: notPhysical },
      ),
      item(
        'security',
        'system',
        'One checkout creates one order and one charge: a double submit or a network retry with the same checkout id returns the existing order.',
        { onlyIf: buying, unless: sellerSide },
      ),
      item(
        'validation',
        'system',
        'Prices, discounts and stock are checked again on the server when the order is confirmed; a change since the basket was filled is shown before payment.',
        { onlyIf: /checkout|basket|cart|\bbuy\b|purchase|discount/, unless: digitalGoods },
      ),
      outcome(
        'interactive-elements',
        'an order has shipped',
        '{actor} opens it',
        'they see the carrier, the tracking number and the latest status with its date and time',
        { onlyIf: /track|ships|shipped|tracking/ },
      ),
      outcome(
        'interactive-elements',
        'the order was placed',
        'the confirmation appears',
        'it shows an order number, and a confirmation with the items and the total is sent to {actor}',
        { onlyIf: buying, unless: sellerSide },
      ),
      item(
        'analytics',
        'system',
        'The checkout funnel is measured per step (basket, delivery, payment, confirmed), with the share of shoppers leaving at each step.',
        { onlyIf: buying, unless: notPhysical },
      ),
      item(
        'user-roles',
        'question',
        'Can {actor} order without an account, and which delivery options and countries are in scope?',
        { onlyIf: ordersGoods, unless: notPhysical },
      ),
      outcome(
        'interactive-elements',
        'the payment succeeded',
        'the confirmation appears',
        'what {actor} bought is in their account at once, showing what it is valid for and until when, and the price paid matches the price shown before paying',
        { onlyIf: digitalGoods, unless: sellerSide },
      ),
      item(
        'user-roles',
        'question',
        'From when to when is what {actor} buys valid, and can it be refunded or moved once bought?',
        { onlyIf: digitalGoods, unless: sellerSide },
      ),
      outcome(
        'validation',
        'a product saved without a name, a price or a stock level',
        '{actor} tries to publish it',
        'it stays a draft and the missing fields are named',
        { onlyIf: /add products|product photos|shop owner|seller|sell/ },
      ),
    ],
  },
  {
    id: 'refunds',
    name: 'Refunds and cancellations',
    triggers:
      /\b(?:refunds?|refunded|cancel (?:an?|the|my) (?:order|purchase|subscription|ticket|payment)|returns?|money back|chargebacks?|rembours\w*|annuler (?:ma |mon |la |le |l'|l’|une |un )?(?:commande|achat|abonnement|billet|paiement|réservation|séjour)|(?:bestellung|kauf|abo|abonnement|ticket|zahlung) stornier\w*|stornier\w* (?:die |meine |eine |das |mein )?(?:bestellung|kauf|abo|abonnement|ticket|zahlung)|erstattung|reembolso|cancelar (?:mi |el |la |un |una )?(?:pedido|compra|suscripción|billete|pago|encomenda|assinatura|bilhete|pagamento)|terugbetal\w*|(?:bestelling|aankoop|abonnement|ticket|betaling) annuleren|annuleren (?:mijn |de |het )?(?:bestelling|aankoop|abonnement|ticket|betaling)|rimbors\w*|annullare (?:il |l'|l’|un |una |la |mio |mia )?(?:ordine|acquisto|abbonamento|biglietto|pagamento))\b/iu,
    items: [
      outcome(
        'interactive-elements',
        'an order or a booking within its cancellation period',
        '{actor} asks to cancel it',
        'they see the refund amount and when it will arrive before they confirm',
      ),
      outcome(
        'validation',
        'the cancellation period has passed',
        '{actor} tries to cancel',
        'they are told why it is no longer possible and what they can do instead',
      ),
      item(
        'security',
        'system',
        'A refund goes back to the original payment method, for at most the amount paid, and only once: a repeated request does not refund twice.',
      ),
      item(
        'security',
        'system',
        'Every refund is logged with who asked for it, the amount, the reason and the payment reference.',
      ),
      outcome(
        'interactive-elements',
        'the refund was issued',
        '{actor} opens the order',
        'its status shows "refunded" with the amount and the date',
        { onlyIf: /refund|money back|rembours|erstatt|reembolso/ },
      ),
      item(
        'analytics',
        'system',
        'Cancellations and refunds are counted per week by reason and by how long after the purchase they happened.',
      ),
      item(
        'user-roles',
        'question',
        'Are partial refunds in scope, and who must approve a refund above a set amount?',
      ),
    ],
  },
  {
    id: 'health',
    name: 'Healthcare records',
    triggers:
      /\b(?:patients?|clinic|clinics|clinician|doctors?|nurses?|medical|health|blood pressure|prescriptions?|medication|allerg\w*|lab results?|laboratory|diagnos\w*|general practitioner|gp|hospital|ward|vaccinations?|radiolog\w*|pharmacist|drugs?|médecin|ordonnance|arzt|ärztin|laborergebnisse|rezept|médico|paciente|receta|huisarts|medico|paziente)\b/iu,
    items: [
      outcome(
        'user-roles',
        "a clinician who is not involved in the patient's care",
        'they try to open the record',
        'access is refused unless they give an emergency reason, which is logged and reviewed the next working day',
        {
          onlyIf: /record|chart|result|blood|medication|prescription|allerg|scan|vital|drug|laborergebnisse/,
        },
      ),
      item(
        'security',
        'system',
        "Every read and change of a patient's data is logged with the user, the time, the patient and the reason, and the log can be given to the patient on request (GDPR article 9 health data).",
      ),
      outcome(
        'validation',
        'a measurement outside the plausible range for its unit',
        'it is entered',
        'it is refused, while a value outside the normal range is accepted and highlighted for the clinician',
        { onlyIf: /blood pressure|vital|measure|temperature|weight|glucose|record/ },
      ),
      outcome(
        'validation',
        'a value in the record is corrected',
        'the correction is saved',
        "the previous value stays in the record's history with who changed it and when",
        { onlyIf: /record|chart|blood|vital|medication|prescription/ },
      ),
      item(
        'security',
        'system',
        'Health data is encrypted in transit (TLS 1.2 or later) and at rest, and stored only in the regions the care provider has approved.',
      ),
      item(
        'security',
        'system',
        'Reminders, lock-screen notifications and screens others may see never show the reason for a visit or a diagnosis.',
        { onlyIf: /appointment|remind|notification|confirm/ },
      ),
      item(
        'analytics',
        'system',
        'Analytics events about this feature never contain patient identifiers, names or clinical values.',
      ),
      item(
        'user-roles',
        'question',
        "Which roles (doctor, nurse, receptionist, the patient) may see and change which parts of the patient's data?",
      ),
      outcome(
        'interactive-elements',
        'two prescribed drugs that interact',
        'the second one is added',
        'a warning names both drugs and the interaction, and the prescriber must confirm or cancel before saving',
        { onlyIf: /interact/ },
      ),
    ],
  },
  {
    id: 'public-api',
    name: 'Public APIs and rate limits',
    triggers:
      /\b(?:api|apis|endpoints?|webhooks?|integrations?|integration partner|callback|rate limits?|requests? per|http|rest|sdk|cursor|paginat\w*|page through|api key|api keys|client id|oauth)\b/iu,
    items: [
      item(
        'validation',
        'system',
        'Every error is answered as application/problem+json with a stable error code; a malformed request gets 400 naming the field, and nothing is stored.',
      ),
      item(
        'performance',
        'system',
        'A client over its rate limit gets 429 with a Retry-After header in seconds, and requests from other clients keep their usual response times.',
        { onlyIf: /rate|requests? per|limit|429|exceed/ },
      ),
      item(
        'validation',
        'system',
        'A page cursor stays valid for at least 24 hours; while data changes, pages neither repeat nor skip an item, and the last page has no next cursor.',
        { onlyIf: /cursor|page|paginat/ },
      ),
      item(
        'security',
        'system',
        'Each webhook delivery is signed with HMAC-SHA256 over its timestamp and body using a per-subscriber secret, and receivers can reject deliveries older than 5 minutes.',
        { onlyIf: /webhook|callback/ },
      ),
      item(
        'performance',
        'system',
        'A delivery not answered with a 2xx status within 10 seconds is retried with exponential backoff for 24 hours; every retry keeps the event id so receivers can ignore duplicates.',
        { onlyIf: /webhook|callback/ },
      ),
      item(
        'security',
        'system',
        'Only https URLs that resolve to public addresses are accepted as webhook targets; private, link-local and loopback addresses are refused when registered and when delivering.',
        { onlyIf: /webhook|callback|url/ },
      ),
      item(
        'security',
        'system',
        'After a key is rotated, the old and the new key both work for a grace period of 24 hours; afterwards the old key gets 401 and its last use is shown to its owner.',
        // An idempotency key identifies a request, not a client: nothing to rotate.
        { onlyIf: /rotate|(?<!idempotency )key|token/ },
      ),
      item(
        'validation',
        'system',
        'The endpoints are described in the OpenAPI document with an example per response, and a contract test checks every documented status code.',
      ),
      item(
        'analytics',
        'system',
        'Requests are counted per client and endpoint with their 4xx and 5xx rates and 95th percentile latency, visible to the client on a usage page.',
      ),
      item(
        'security',
        'question',
        'Which authentication do clients use (API keys, OAuth client credentials), and which rate limits apply per client?',
      ),
    ],
  },
  {
    id: 'reporting',
    name: 'Reporting and export',
    triggers:
      // A file format the actor hands in ("submit my thesis as a PDF", "import a CSV") is an upload, not an export.
      /\b(?:reports|reporting|(?:a|the|monthly|weekly|annual|month-end) report|export|exports|download|downloads|(?<!\b(?:submit|upload|attach|import|send|scan)\w*\b[^.;]{0,40})(?:csv|pdf|excel|xlsx)|statements?|payslips?|dashboards?|charts?|burndown|print|exporter|rapport|exportieren|bericht|exportar|informe|esportare)\b/iu,
    items: [
      outcome(
        'validation',
        'a period or a selection with no data',
        '{actor} asks for the file',
        'they are told there is nothing to export instead of getting an empty file',
        { onlyIf: /export|download|csv|pdf|excel|xlsx|statement|payslip|report/, kinds: fileKinds },
      ),
      outcome(
        'performance',
        'an export of more than 10,000 rows',
        '{actor} starts it',
        'they can keep working, and they are told when the file is ready, with a download link valid for 24 hours',
        { onlyIf: /export|csv|excel|xlsx|report/, kinds: fileKinds },
      ),
      outcome(
        'accessibility',
        'a PDF file from this feature',
        '{actor} opens it with a screen reader',
        'it is read in a logical order because it is tagged (PDF/UA), and every page shows the period covered and the date it was made',
        { onlyIf: /pdf|payslip|statement/ },
      ),
      item(
        'security',
        'system',
        'A file contains exactly the records {actor} may see, for exactly the chosen period; totals in the file equal the totals on screen, checked by an automated comparison.',
        { onlyIf: /export|download|csv|pdf|excel|xlsx|statement|payslip|report/, kinds: fileKinds },
      ),
      outcome(
        'accessibility',
        'a chart',
        '{actor} cannot see it or uses a screen reader',
        'the same data is available as a table with headers',
        { onlyIf: /dashboard|chart|burndown|graph/ },
      ),
      item(
        'performance',
        'system',
        'The dashboard shows data no older than 15 minutes and says when it was last updated; with a year of data it loads within 3 seconds.',
        { onlyIf: /dashboard|chart/ },
      ),
      item(
        'validation',
        'question',
        'Which columns or fields must the file contain, in which order, and which time zone defines the start and end of a period?',
        { onlyIf: /export|csv|excel|xlsx|report|statement/ },
      ),
      item(
        'analytics',
        'system',
        'Exports and downloads are counted per format and size band, with failures by cause.',
        { onlyIf: /export|download|csv|pdf|excel|xlsx/, kinds: fileKinds },
      ),
    ],
  },
  {
    id: 'admin',
    name: 'Admin and roles',
    // Inviting people to join something makes them members; inviting parents to a meeting or friends to a
    // match does not.
    triggers:
      /\b(?:admins?|administrators?|roles?|permissions?|invit\w*\s+(?:(?:a|an|the|my|our|their|new|other)\s+)*(?:members?|users?|colleagues?|teammates?|team members?|employees?)|invit\w*\b[^.]{0,40}\bto\s+(?:join|my|our|the|their)\s+(?:team|workspace|organi[sz]ation|project|account|group|board|company)|manage users|workspace|access rights|suspend|deactivate|staff|rôle|droits|rolle|berechtigung\w*|rol|permisos|rechten|ruolo)\b/iu,
    items: [
      outcome(
        'user-roles',
        'a person whose role does not allow an action',
        'they try it through the screen or the API',
        'it is refused as "not allowed", nothing changes, and the attempt is logged',
      ),
      outcome(
        'user-roles',
        '{actor} invites someone by email',
        'the invited person accepts within 7 days',
        'they join with the role chosen and the invitation link stops working',
        { onlyIf: /invite|invitation/ },
      ),
      outcome(
        'validation',
        'an invitation to an address that already belongs to a member',
        '{actor} sends it',
        'they are told the person is already a member and no duplicate is created',
        { onlyIf: /invite|invitation/ },
      ),
      item(
        'security',
        'system',
        'Every change of membership or role is recorded with who made it, when, and the old and the new role, and the record cannot be edited.',
      ),
      outcome(
        'validation',
        '{actor} is the last administrator',
        'they try to remove their own administrator role',
        'it is refused, so there is always at least one administrator',
        { onlyIf: /admin|role/ },
      ),
      outcome(
        'security',
        'a member is removed or suspended',
        'the change is saved',
        'their sessions end within 1 minute and they lose access to every project',
        { onlyIf: /remove|suspend|deactivate|manage users|delete/ },
      ),
      item(
        'user-roles',
        'question',
        'Which actions does each role allow, who may change roles, and is a change logged for audit?',
        { unless: /\(viewer|\(editor|\(admin/ },
      ),
    ],
  },
  {
    id: 'sharing',
    name: 'Sharing and collaboration',
    triggers:
      /\b(?:share|shares|sharing|shared|comment|comments|collaborat\w*|co-edit|with a client|link to)\b/iu,
    items: [
      outcome(
        'user-roles',
        'an item shared with one person',
        'someone else opens the link',
        'they cannot see the item unless {actor} shared it with them too',
      ),
      outcome(
        'user-roles',
        '{actor} stops sharing an item',
        'the other person opens it again',
        'access is refused within 1 minute, including through links they kept',
      ),
      outcome(
        'interactive-elements',
        'two people comment on the same item at once',
        'both save',
        'both comments are kept in order with their authors and times, and nothing is overwritten',
        { onlyIf: /comment/ },
      ),
      item(
        'security',
        'system',
        'Every share, change of access and download of a shared item is logged with who did it and when, visible to {actor}.',
      ),
      item(
        'security',
        'question',
        'May shared items be forwarded, downloaded or printed by the people they are shared with, and should access expire?',
      ),
    ],
  },
  {
    id: 'subscriptions',
    name: 'Subscriptions and renewals',
    // A newsletter or updates cost nothing and renew nothing: the notifications pack knows those.
    triggers:
      /\b(?:(?:subscriptions?|subscribe)\b(?!\s+to\s+(?:(?:the|a|an|our|their|my|your)\s+)?(?:[\p{L}-]+\s+)?(?:newsletters?|mailing lists?|updates|alerts|notifications|digests?|podcasts?|channels?|feeds?|blogs?)\b)|subscriber|permit|membership|trial)\b/iu,
    items: [
      outcome(
        'interactive-elements',
        '{actor} is about to change their subscription',
        'they review the change',
        'they see the date it takes effect, what they will be charged and when, before they confirm',
        { unless: permit },
      ),
      outcome(
        'validation',
        'a subscription that is already paused, cancelled or expired',
        '{actor} tries the same change again',
        'they are told its current state and nothing is charged',
        { unless: permit },
      ),
      item(
        'security',
        'system',
        'A renewal or a pause is applied once per billing period: a repeated request does not charge or extend twice.',
        { unless: permit },
      ),
      item(
        'analytics',
        'system',
        'Pauses, renewals and cancellations are counted per month with the share of subscribers who come back after a pause.',
        { unless: permit },
      ),
      item(
        'user-roles',
        'question',
        'What happens at the end of the period: does the subscription resume or renew by itself, and is {actor} reminded beforehand?',
        { unless: permit },
      ),
      item(
        'validation',
        'question',
        'When does a cancellation made in the middle of a paid period take effect: at once, with the unused part refunded, or at the end of that period?',
        { onlyIf: /\bcancel/, unless: permit },
      ),
      // A permit is issued for a period and renewed, never paused: the renewal's dates are what matter.
      outcome(
        'interactive-elements',
        "{actor}'s permit runs out on a given day",
        'they renew it before that day',
        'the new period starts the day after the old one ends, with no gap and no overlap, and they see the new end date and what they paid',
        { onlyIf: permit },
      ),
      item(
        'security',
        'system',
        'A renewal is applied once per period: a repeated request does not charge or extend twice.',
        { onlyIf: permit },
      ),
      item(
        'analytics',
        'system',
        'Renewals are counted per month, with the share made before the old permit ran out.',
        {
          onlyIf: permit,
        },
      ),
      item(
        'user-roles',
        'question',
        'Can a permit that has already run out still be renewed, and for how long, or must {actor} apply again? Is {actor} reminded before it runs out, and how long before?',
        { onlyIf: permit },
      ),
    ],
  },
  {
    id: 'approvals',
    name: 'Approvals and requests',
    triggers:
      /\b(?:approve|approves|approval|approvals|approver|approvers|sign off|sign-off|holiday requests?|leave requests?|expense claims?|expenses|purchase requests?|time off|genehmig\w*|freigabe|freigeben|antrag|anträge\w*|urlaubsantr\w*|reisekosten\w*|vorgesetzte\w*|approuver|approbation|demandes? de congé|notes? de frais|aprobar|aprobación|aprovar|aprovação|goedkeur\w*|declaraties?|verlofaanvra\w*|approvare|approvazione|note spese)\b/iu,
    items: [
      outcome(
        'interactive-elements',
        'a request is waiting for a decision',
        'the approver opens it',
        'they see who asked, for what, the amount or the dates, and earlier decisions, and can approve it or reject it with a reason',
      ),
      outcome(
        'interactive-elements',
        'a request was approved or rejected',
        'the person who asked looks at it',
        'they see the decision, the reason and the date, and they were notified once',
      ),
      outcome(
        'validation',
        'a request that was already decided',
        'someone tries to decide it again',
        'they see the earlier decision with who made it and when, and nothing changes',
      ),
      outcome(
        'user-roles',
        'the approver is the person who made the request',
        'they open it',
        'they cannot decide it themselves, and it goes to the next approver',
      ),
      item(
        'security',
        'system',
        'Every decision on a request is recorded with who decided, when, the decision and the reason, and the record cannot be edited.',
      ),
      item(
        'performance',
        'system',
        "A test that moves the clock past the reminder period sees exactly one reminder to the approver, and past the escalation period sees the request with the approver's deputy.",
      ),
      item(
        'validation',
        'question',
        'After how many working days is an undecided request reminded to the approver, and after how many does it go to their deputy?',
      ),
      item(
        'analytics',
        'system',
        'Requests are counted per week by outcome, with the median time from submission to decision.',
      ),
      item(
        'user-roles',
        'question',
        'Who approves which requests (by amount, team or type), and who decides when the approver is away?',
      ),
    ],
  },
  {
    id: 'maps',
    name: 'Maps and location',
    triggers:
      // "assign a delivery to the nearest driver": the distance is the product's to work out, not the actor's
      // own position.
      /\b(?:maps?|route|routes|location|locations|distance|nearby|(?<!\b(?:assign|allocate|dispatch)\w*\b[^.]*\bto (?:the |an? )?)(?:nearest|closest)|near me|around me|gps|directions|bike lanes)\b/iu,
    items: [
      outcome(
        'user-roles',
        '{actor} has not allowed access to their location',
        'they open the map',
        'they can type an address or a place instead, and the app asks for permission only when they choose "use my location"',
      ),
      outcome(
        'validation',
        '{actor} has allowed access to their location',
        'they ask for the nearest ones',
        'the results are ordered by distance from where they are, each with its distance, and they can search from another place instead',
        { onlyIf: searchesByPosition },
      ),
      outcome(
        'validation',
        'nothing that fits is within the distance searched',
        'the results are shown',
        '{actor} is told so and offered a wider distance, never an empty list',
        { onlyIf: searchesByPosition },
      ),
      outcome(
        'validation',
        "the device's position is missing or inaccurate",
        '{actor} gives the location of what they report',
        'they can set it by moving a pin or typing an address before sending, and the position they confirmed is the one sent',
        { onlyIf: reportsPosition },
      ),
      outcome(
        'accessibility',
        '{actor} cannot see the map',
        'they ask for the route',
        'the same route is available as a list of steps with distances',
        { onlyIf: followsRoute, unless: recordsTrack },
      ),
      item(
        'performance',
        'system',
        'Map tiles and route data are cached for the last viewed area, so the map still shows it without a connection.',
        { onlyIf: followsRoute },
      ),
      item(
        'security',
        'system',
        "{actor}'s precise location is not stored after the route is shown, and analytics use areas of at least 1 km.",
        { onlyIf: followsRoute, unless: recordsTrack },
      ),
      item(
        'security',
        'system',
        'A recorded track is visible only to {actor} until they share it, they can hide where it starts and ends (near their home, for example), and analytics use areas of at least 1 km.',
        { onlyIf: recordsTrack },
      ),
      item(
        'security',
        'system',
        "{actor}'s own position is used only to answer what they asked and is not kept with their account; analytics use areas of at least 1 km.",
        { unless: new RegExp(`${followsRoute.source}|${recordsTrack.source}`) },
      ),
      item('user-roles', 'question', 'Where does the map data come from, and how often is it updated?'),
    ],
  },
];

const globalTriggers = new Map(domainPacks.map((pack) => [pack.id, new RegExp(pack.triggers.source, 'giu')]));

function matches(pack: DomainPack, text: string): Set<string> {
  const pattern = globalTriggers.get(pack.id) ?? new RegExp(pack.triggers.source, 'giu');
  return new Set([...text.matchAll(pattern)].map((match) => match[0].toLowerCase()));
}

/**
 * How strongly a story is about a pack's domain: a trigger in the story's core action (its verb and object,
 * "send a reminder email") counts twice, one elsewhere in the role or the wish ("... before each booking") once.
 */
export function packScore(pack: DomainPack, core: string, subject: string): number {
  const central = matches(pack, core);
  const around = [...matches(pack, subject)].filter((word) => !central.has(word));
  return 2 * central.size + around.length;
}

/**
 * The packs a story is about, strongest first (at most three): those its core action names, or, when it names
 * none, those its role and wish mention; `named` says which.
 */
export function packsFor(core: string, subject: string): { packs: DomainPack[]; named: boolean } {
  const scored = domainPacks
    .map((pack) => ({ pack, score: packScore(pack, core, subject) }))
    .filter(({ score }) => score > 0)
    .sort((a, b) => b.score - a.score);
  const central = scored.filter(({ score }) => score >= 2);
  return {
    packs: (central.length > 0 ? central : scored).slice(0, 3).map(({ pack }) => pack),
    named: central.length > 0,
  };
}
