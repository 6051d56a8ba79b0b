import { describe, expect, it } from 'vitest';
import { getIteration } from '../catalog';
import { runWorkflow } from '../runner';
import { allItems, criterionText, parseStory } from '../story';
import { domainPacks } from './domain-packs';
import { sentenceProblems } from './grammar-guard';
import { createOfflineAdapter } from './offline-adapter';
import { packIds } from './iteration-rules';

describe('domain knowledge packs', () => {
  it('cover the twelve required domains, each with criteria of its own', () => {
    expect(domainPacks.map((pack) => pack.id)).toEqual(
      expect.arrayContaining([
        'payments',
        'sign-in',
        'booking',
        'search',
        'uploads',
        'notifications',
        'checkout',
        'refunds',
        'health',
        'public-api',
        'reporting',
        'admin',
      ]),
    );
    for (const pack of domainPacks) {
      const criteria = pack.items.filter(
        (item) => item.section === 'outcomeCriteria' || item.section === 'systemCriteria',
      );
      expect(criteria.length, pack.id).toBeGreaterThanOrEqual(3);
    }
  });

  it('put every item in a section its iteration may change, outcome items as Given/When/Then', () => {
    for (const pack of domainPacks) {
      for (const item of pack.items) {
        expect(
          getIteration(item.iteration).sections,
          `${pack.id}: ${item.text ?? item.then ?? ''}`,
        ).toContain(item.section);
        if (item.section === 'outcomeCriteria') expect(item.given && item.when && item.then).toBeTruthy();
        else expect(item.text).toBeTruthy();
      }
    }
  });

  it('word every item so that the grammar guard lets it through (a dropped item is silently lost)', () => {
    for (const pack of domainPacks) {
      for (const item of pack.items) {
        const fill = (text: string): string => text.replace(/\{actor\}/g, 'the nurse');
        const text =
          item.section === 'outcomeCriteria'
            ? criterionText({
                given: fill(item.given ?? ''),
                when: fill(item.when ?? ''),
                then: fill(item.then ?? ''),
              })
            : fill(item.text ?? '').replace(/^./, (first) => first.toUpperCase());
        expect(sentenceProblems(text), `${pack.id}: ${text}`).toEqual([]);
      }
    }
  });

  it.each([
    ['As a bank customer, I want to transfer money to another account.', 'payments'],
    [
      'As a returning customer, I want to log in with my email and password so that I can see my order history.',
      'sign-in',
    ],
    ['As a gym member, I want to book a spin class.', 'booking'],
    [
      'As a traveller, I want to search flights by date, price and number of stops so that I find a connection.',
      'search',
    ],
    ['As a teacher, I want to upload a worksheet.', 'uploads'],
    [
      'The system shall send a reminder email 24 hours before each booking so that guests do not forget.',
      'notifications',
    ],
    ['As a shopper, I want to pay for my basket with a saved card so that checkout is quick.', 'checkout'],
    ['As a customer, I want a refund for a damaged item so that I get my money back.', 'refunds'],
    [
      "As a nurse, I want to record a patient's blood pressure at the bedside so that the doctor sees it.",
      'health',
    ],
    [
      '---\nproductType: api\n---\nAs an integration partner, I want to register a webhook URL so that my system updates itself.',
      'public-api',
    ],
    ['As a researcher, I want to export survey results to CSV so that I can analyse them.', 'reporting'],
    [
      'As an agency administrator, I want to invite colleagues and give each one a role so that projects stay separated.',
      'admin',
    ],
    ['As a team lead, I want to approve holiday requests so that planning is easier.', 'approvals'],
    [
      'Als Sachbearbeiter möchte ich Reisekostenanträge über 500 € an meinen Vorgesetzten weiterleiten, damit hohe Ausgaben geprüft werden.',
      'approvals',
    ],
    [
      "En tant que client de la banque, je veux virer de l'argent vers un autre compte afin de payer mon loyer.",
      'payments',
    ],
  ])('chooses the pack a story is about: %s', (text, pack) => {
    expect(packIds(parseStory(text))).toContain(pack);
  });

  it('does not choose a pack from words that only look like its own', () => {
    const webhook = packIds(
      parseStory(
        'As an integration partner, I want to register a webhook URL that receives an event whenever an order ships.',
      ),
    );
    expect(webhook).not.toContain('sign-in');
    expect(webhook).not.toContain('checkout');
    expect(
      packIds(
        parseStory(
          'As a tenant, I want to report a broken heater so that the landlord can schedule a repair.',
        ),
      ),
    ).not.toContain('reporting');
    expect(
      packIds(parseStory('As a gym member, I want to see my training plan so that I stay motivated.')),
    ).not.toContain('admin');
    expect(
      packIds(
        parseStory('As a warehouse picker, I want to scan a shelf barcode so that I am at the right place.'),
      ),
    ).toEqual([]);
  });

  it('does not take a noun for the verb that names a domain: closing the books, renewing a loan', () => {
    expect(
      packIds(
        parseStory('As an accountant, I want to close the books for a month so that entries stay fixed.'),
      ),
    ).not.toContain('booking');
    expect(
      packIds(parseStory('As a librarian, I want to renew a loan so that a reader keeps the book.')),
    ).toEqual([]);
    expect(
      packIds(
        parseStory('As a bank customer, I want to freeze my card from the app so that nobody can use it.'),
      ),
    ).not.toContain('payments');
    expect(
      packIds(parseStory('As a volunteer, I want to sign up for a shift so that the shop is staffed.')),
    ).not.toContain('sign-in');
    expect(
      packIds(parseStory('As a visitor, I want to sign up for an account so that I can save searches.')),
    ).toContain('sign-in');
    expect(packIds(parseStory('As a member, I want to pause my subscription for a month.'))).toContain(
      'subscriptions',
    );
    expect(
      packIds(parseStory('As a diner, I want to book a table for four so that we have a seat.')),
    ).toContain('booking');
  });

  it('does not take cancelling an appointment in another language for a refund', () => {
    expect(
      packIds(parseStory('En tant que patient, je veux annuler mon rendez-vous afin de libérer le créneau.')),
    ).not.toContain('refunds');
    expect(
      packIds(parseStory('En tant que client, je veux annuler ma commande afin de ne pas payer.')),
    ).toContain('refunds');
  });
});

describe('domain pack items', () => {
  const llm = createOfflineAdapter();
  const texts = async (text: string): Promise<string[]> =>
    allItems((await runWorkflow({ llm, story: parseStory(text) })).story).map((item) => item.text);

  it('renew a permit by its dates, never as a subscription that pauses, and ask when a cancellation mid-period takes effect', async () => {
    const items = (
      await texts(
        "As a citizen, I want to renew my parking permit online before it expires so that I don't get a fine.",
      )
    ).join('\n');
    expect(items).toContain(
      "Given the citizen's permit runs out on a given day, when they renew it before that day, then the new period starts the day after the old one ends, with no gap and no overlap, and they see the new end date and what they paid.",
    );
    expect(items).toMatch(/Can a permit that has already run out still be renewed/);
    expect(items).not.toMatch(/subscription|subscribers|pause/i);
    const cancel = (
      await texts(
        'As a member, I want to cancel my subscription at any time so that I only pay for what I use.',
      )
    ).join('\n');
    expect(cancel).toContain(
      'When does a cancellation made in the middle of a paid period take effect: at once, with the unused part refunded, or at the end of that period?',
    );
    expect(cancel).not.toMatch(/subscription at any time/);
    const gym = (
      await texts(
        'As a gym member, I want to pause my membership for a month so that I do not pay while travelling.',
      )
    ).join('\n');
    expect(gym).toMatch(/share of subscribers who come back after a pause/);
  });

  it('never tell someone who collects a payment that their balance goes down', async () => {
    const items = await texts(
      'As a landlord, I want to collect rent by direct debit so that I do not chase late payments.',
    );
    expect(items.join('\n')).not.toMatch(/balance is lower|new recipient/);
    expect(items).toContain(
      'Given a payment the landlord collects is returned or fails, when the landlord looks at their payments, then it is marked as failed with the reason and the date, and its amount is not counted as received.',
    );
    expect(items.some((item) => /mandate the payer has signed/.test(item))).toBe(true);
    const payer = await texts('As a bank customer, I want to pay my bills by card so that I never miss one.');
    expect(payer.some((item) => /balance is lower/.test(item))).toBe(true);
  });

  it('do not ask what the story already states about a booking window or a cancellation deadline, nor about booking when the story only looks', async () => {
    const window = await texts(
      'As a gym member, I want to book a spin class up to 7 days ahead so that I get a bike.',
    );
    expect(window).not.toContain('How far ahead can the gym member book?');
    expect(window).toContain(
      'Until when before the start can the gym member cancel or move without a fee, and what happens after a no-show?',
    );
    const deadline = await texts(
      'As a diner, I want to reserve a table that I can cancel up to 24 hours before so that plans can change.',
    );
    expect(deadline.join('\n')).not.toMatch(/Until when before the start/);
    expect(deadline).toContain('How far ahead can the diner book?');
    const sms = await texts(
      'As a customer, I want to reset my password via SMS so that I can sign in again.',
    );
    expect(sms.join('\n')).not.toMatch(/reset link by email|any email address/);
    expect(sms.some((item) => /reset code by SMS/.test(item))).toBe(true);
    const seller = await texts(
      'As a shop owner, I want to add products and set discounts so that I can run my store.',
    );
    expect(seller.join('\n')).not.toMatch(/checks out/);
    const photos = await texts('As a seller, I want to upload product photos so that buyers see the item.');
    expect(photos.join('\n')).not.toMatch(/basket|order number|checkout/i);
    expect(
      packIds(
        parseStory(
          'As a marketing manager, I want to schedule a newsletter so that it arrives in the morning.',
        ),
      ),
    ).not.toContain('booking');
    const looking = await texts(
      "As a clinic receptionist, I want to see which patients have not confirmed tomorrow's appointment so that I can call them.",
    );
    expect(looking.join('\n')).not.toMatch(/booked a moment earlier|picks a date|How far ahead|slot picker/);
  });
});
