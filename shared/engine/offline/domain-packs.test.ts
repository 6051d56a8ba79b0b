import { describe, expect, it } from 'vitest';
import { getIteration } from '../catalog';
import { parseStory } from '../story';
import { domainPacks } from './domain-packs';
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
});
