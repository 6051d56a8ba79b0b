import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStory } from '../story';
import { backlogStoryId, type BacklogEntry } from '../system-analysis';
import type { Story } from '../story';
import { offlineConsistency, offlineDiscovery, offlineInterconnection, termKey } from './system-rules';

const backlogDir = path.join(__dirname, '..', '..', '..', 'examples', 'backlog');

/** The README's 5-story backlog: built to share entities, depend on each other, drift and contradict. */
const backlog: BacklogEntry<Story>[] = readdirSync(backlogDir)
  .filter((name) => name.endsWith('.md'))
  .sort()
  .map((name, index) => ({
    id: backlogStoryId(index),
    story: parseStory(readFileSync(path.join(backlogDir, name), 'utf8'), { productType: 'web' }),
  }));

function context(stories: readonly BacklogEntry<Story>[] = backlog) {
  const found = offlineDiscovery(stories);
  return {
    actors: found.actors ?? [],
    entities: found.entities ?? [],
    screens: found.screens ?? [],
    vocabulary: found.vocabulary ?? [],
  };
}

describe('term keys', () => {
  it('treat case, plural, hyphens, spacing and product synonyms as one term', () => {
    expect(termKey('E-mail addresses')).toBe(termKey('email address'));
    expect(termKey('shopping basket')).toBe(termKey('Shopping carts'));
    expect(termKey('order')).not.toBe(termKey('product'));
  });
});

describe('offline discovery', () => {
  it('finds the actors, the shared entities with their stories, the screens, and terms spelled two ways', () => {
    const found = context();
    expect(found.actors).toEqual(
      expect.arrayContaining([
        { name: 'shopper', storyIds: ['S1', 'S2', 'S3', 'S4'] },
        { name: 'store manager', storyIds: ['S5'] },
      ]),
    );
    const entity = (name: string) => found.entities.find((entry) => entry.name === name)?.storyIds;
    expect(entity('order')).toEqual(['S1', 'S3', 'S5']);
    expect(entity('product')).toEqual(['S2', 'S3', 'S5']);
    expect(found.screens.map((screen) => screen.name)).toEqual(
      expect.arrayContaining(['product page', 'order dashboard']),
    );
    expect(found.vocabulary).toEqual(
      expect.arrayContaining([
        { canonical: 'shopping basket', variants: ['shopping cart'] },
        { canonical: 'e-mail address', variants: ['email address'] },
      ]),
    );
  });

  it('gives the same context for the same backlog every time (deterministic)', () => {
    expect(offlineDiscovery(backlog)).toEqual(offlineDiscovery(backlog));
  });
});

describe('offline interconnection', () => {
  it('links stories that use what another creates, and stories acting on the same entity', () => {
    const { relationships = [] } = offlineInterconnection(backlog, context());
    const link = (from: string, to: string, kind: string) =>
      relationships.find((entry) => entry.from === from && entry.to === to && entry.kind === kind);
    // The dashboard (S5) lists the orders the checkout (S3) submits; the password reset (S4) needs the
    // e-mail address the account of S1 is created with; the checkout (S3) needs the products S2 adds.
    expect(link('S5', 'S3', 'depends-on')).toMatchObject({ confidence: 0.75 });
    expect(link('S4', 'S1', 'depends-on')?.reason).toContain('which S1 creates');
    expect(link('S3', 'S2', 'depends-on')?.reason).toContain('"product"');
    expect(link('S2', 'S3', 'shares-entity')?.reason).toContain('product');
    expect(link('S4', 'S1', 'conflicts')?.reason).toContain('12 characters');
    expect(link('S1', 'S2', 'depends-on')).toBeUndefined();
    expect(relationships.every((entry) => entry.confidence > 0 && entry.confidence <= 1)).toBe(true);
  });
});

describe('offline consistency', () => {
  it('reports the contradicting password lengths with their stories and items, and the vocabulary drift', () => {
    const { findings = [] } = offlineConsistency(backlog, context());
    const contradiction = findings.find((finding) => finding.kind === 'contradiction');
    expect(contradiction).toMatchObject({ storyIds: ['S1', 'S4'] });
    expect(contradiction?.detail).toContain('8 vs 12 character');
    expect(contradiction?.items.map((item) => item.storyId)).toEqual(['S1', 'S4']);
    const drift = findings.filter((finding) => finding.kind === 'vocabulary-drift');
    expect(drift.map((finding) => finding.detail).join(' ')).toContain('"shopping basket"');
  });

  it('finds criteria repeated across stories and stories asking for the same thing', () => {
    const twin: BacklogEntry<Story>[] = [
      {
        id: 'S1',
        story: parseStory(
          'As a shopper, I want to add products to my wish list, so that I can buy them later.\n\n## Outcome criteria\n- Given a signed-in shopper, when they add a product to the wish list, then the wish list shows the product.',
        ),
      },
      {
        id: 'S2',
        story: parseStory(
          'As a shopper, I want to add products to my wishlist, so that I can buy them later.\n\n## Outcome criteria\n- Given a signed-in shopper, when they add a product to the wishlist, then the wishlist shows the product.',
        ),
      },
    ];
    const twinContext = context(twin);
    const { findings = [] } = offlineConsistency(twin, twinContext);
    expect(findings.map((finding) => finding.kind)).toEqual(
      expect.arrayContaining(['merge-stories', 'vocabulary-drift', 'duplicate-criteria']),
    );
    const repeated = findings.find((finding) => finding.kind === 'duplicate-criteria');
    expect(repeated?.items.map((item) => item.storyId)).toEqual(['S1', 'S2']);
    const { relationships = [] } = offlineInterconnection(twin, twinContext);
    expect(relationships.find((entry) => entry.kind === 'duplicates')?.confidence).toBeGreaterThanOrEqual(
      0.6,
    );
  });
});
