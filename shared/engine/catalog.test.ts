import { describe, expect, it } from 'vitest';
import { applicableIterations, iterationCatalog, iterationIds, productTypes } from './catalog';

const ids = (productType: (typeof productTypes)[number]) =>
  applicableIterations(productType).map((it) => it.id);

describe('iteration catalog', () => {
  it('lists the twelve iterations in workflow order with their categories', () => {
    expect(iterationCatalog.map((it) => `${it.category}:${it.id}`)).toEqual([
      'core:user-roles',
      'core:interactive-elements',
      'core:validation',
      'quality:accessibility',
      'quality:performance',
      'quality:security',
      'responsive:responsive-web',
      'responsive:responsive-native',
      'i18n:language-support',
      'i18n:locale-formatting',
      'i18n:cultural-appropriateness',
      'insights:analytics',
    ]);
    expect(iterationCatalog.map((it) => it.id)).toEqual([...iterationIds]);
  });

  it('gives web and mobile-web everything but responsive-native', () => {
    for (const productType of ['web', 'mobile-web'] as const) {
      expect(ids(productType)).toEqual(iterationIds.filter((id) => id !== 'responsive-native'));
    }
  });

  it('gives mobile-native everything but responsive-web', () => {
    expect(ids('mobile-native')).toEqual(iterationIds.filter((id) => id !== 'responsive-web'));
  });

  it('gives desktop neither responsive iteration', () => {
    expect(ids('desktop')).toEqual(iterationIds.filter((id) => !id.startsWith('responsive')));
  });

  it('gives api only the iterations that make sense without a UI', () => {
    expect(ids('api')).toEqual([
      'user-roles',
      'validation',
      'performance',
      'security',
      'locale-formatting',
      'analytics',
    ]);
  });

  it('defaults every iteration to a current model, never a retiring one', () => {
    for (const definition of iterationCatalog) {
      expect(['claude-sonnet-5-5', 'claude-haiku-5-5']).toContain(definition.defaultModel);
      expect(definition.sections.length).toBeGreaterThan(0);
      expect(definition.sections.some((section) => section.endsWith('Criteria'))).toBe(true);
    }
  });
});
