import { describe, expect, it } from 'vitest';
import { applyResult, mergeIterationResults } from './merge';
import type { IterationResult } from './iteration-result';
import { emptyUsage } from './iteration-result';
import { applyChanges, validatePatches, type Patch } from './patch';
import { itemId, parseStory } from './story';

const base = parseStory(
  [
    'As a bank customer, I want to transfer money to another account.',
    '',
    '## Acceptance criteria',
    '- The amount is debited once.',
    '',
    '## Open questions',
    '- Which limits apply?',
  ].join('\n'),
);
const criterionId = base.outcomeCriteria[0]?.id ?? '';
const questionId = base.openQuestions[0]?.id ?? '';

const add = (section: Patch['section'], text: string, topic = ''): Patch => ({
  op: 'add',
  section,
  target: '',
  text,
  topic,
  given: '',
  when: '',
  then: '',
});

function result(id: IterationResult['id'], patches: Patch[]): IterationResult {
  const { changes, rejected } = validatePatches(base, id, patches);
  return {
    id,
    status: 'applied',
    summary: '',
    changes,
    rejected,
    findings: [],
    usage: emptyUsage(),
    durationMs: 0,
    model: 'test',
    attempts: 1,
    calls: [],
  };
}

describe('validatePatches', () => {
  it('accepts adds, replaces and removes in allowed sections with deterministic ids', () => {
    const { changes, rejected } = validatePatches(base, 'validation', [
      add('systemCriteria', 'The server rejects a negative amount.'),
      {
        op: 'replace',
        section: 'outcomeCriteria',
        target: criterionId,
        text: 'The amount is debited exactly once.',
        topic: '',
        given: '',
        when: '',
        then: '',
      },
      {
        op: 'remove',
        section: 'openQuestions',
        target: questionId,
        text: '',
        topic: '',
        given: '',
        when: '',
        then: '',
      },
    ]);
    expect(rejected).toEqual([]);
    expect(changes.map((change) => [change.op, change.itemId])).toEqual([
      ['add', itemId('systemCriteria', 'validation', 'The server rejects a negative amount.')],
      ['replace', criterionId],
      ['remove', questionId],
    ]);
  });

  it('rejects a section the iteration may not change', () => {
    const { changes, rejected } = validatePatches(base, 'analytics', [
      add('behaviour', 'A chart shows transfers.'),
    ]);
    expect(changes).toEqual([]);
    expect(rejected.map((r) => r.reason)).toEqual(['wrong_section']);
  });

  it('rejects a replace or remove whose target does not exist in that section', () => {
    const { rejected } = validatePatches(base, 'validation', [
      {
        op: 'replace',
        section: 'outcomeCriteria',
        target: 'oc-original-00000000',
        text: 'x',
        topic: '',
        given: '',
        when: '',
        then: '',
      },
      {
        op: 'remove',
        section: 'systemCriteria',
        target: criterionId,
        text: '',
        topic: '',
        given: '',
        when: '',
        then: '',
      },
    ]);
    expect(rejected.map((r) => r.reason)).toEqual(['unknown_target', 'unknown_target']);
  });

  it('rejects duplicates of existing items, of earlier patches and of a target already changed', () => {
    const { changes, rejected } = validatePatches(base, 'validation', [
      add('outcomeCriteria', 'the amount is debited once'),
      add('systemCriteria', 'Amounts are validated.'),
      add('systemCriteria', 'Amounts are  validated'),
      {
        op: 'remove',
        section: 'openQuestions',
        target: questionId,
        text: '',
        topic: '',
        given: '',
        when: '',
        then: '',
      },
      {
        op: 'replace',
        section: 'openQuestions',
        target: questionId,
        text: 'Which daily limit applies?',
        topic: '',
        given: '',
        when: '',
        then: '',
      },
    ]);
    expect(changes).toHaveLength(2);
    expect(rejected.map((r) => r.reason)).toEqual(['duplicate', 'duplicate', 'duplicate']);
  });

  it('rejects an add or replace with empty text', () => {
    const { rejected } = validatePatches(base, 'validation', [add('systemCriteria', '   ')]);
    expect(rejected.map((r) => r.reason)).toEqual(['empty_text']);
  });
});

describe('merging', () => {
  const results = [
    result('security', [
      add('systemCriteria', 'Transfers above EUR 1,000 need strong customer authentication.'),
      {
        op: 'replace',
        section: 'outcomeCriteria',
        target: criterionId,
        text: 'The amount is debited once, after SCA.',
        topic: '',
        given: '',
        when: '',
        then: '',
      },
      add('implementationNotes', 'Use the bank SCA service.', 'Security'),
    ]),
    result('user-roles', [
      add('outcomeCriteria', 'Only the account holder can transfer money.'),
      {
        op: 'remove',
        section: 'outcomeCriteria',
        target: criterionId,
        text: '',
        topic: '',
        given: '',
        when: '',
        then: '',
      },
    ]),
    result('validation', [
      add('systemCriteria', 'Transfers above EUR 1,000 need strong customer authentication.'),
    ]),
  ];

  it('applies in catalog order whatever order the results arrive in, identically every time', () => {
    const first = mergeIterationResults(base, results);
    const reversed = mergeIterationResults(base, [...results].reverse());
    const again = mergeIterationResults(base, results);
    expect(reversed).toEqual(first);
    expect(JSON.stringify(again)).toBe(JSON.stringify(first));
    expect(first.results.map((r) => r.id)).toEqual(['user-roles', 'validation', 'security']);
  });

  it('reports changes that no longer fit as conflicts instead of applying them', () => {
    const { story, results: merged } = mergeIterationResults(base, results);
    const security = merged.find((r) => r.id === 'security');
    expect(security?.rejected.map((r) => r.reason)).toEqual(['conflict', 'conflict']);
    expect(security?.changes.map((c) => c.section)).toEqual(['implementationNotes']);
    expect(story.outcomeCriteria.map((item) => item.text)).toEqual([
      'Only the account holder can transfer money.',
    ]);
    expect(story.systemCriteria.map((item) => item.addedBy)).toEqual(['validation']);
    expect(story.implementationNotes).toEqual([
      expect.objectContaining({ topic: 'Security', addedBy: 'security', text: 'Use the bank SCA service.' }),
    ]);
  });

  it('records which iteration changed an item and never mutates the base story', () => {
    const snapshot = structuredClone(base);
    const { story } = applyResult(
      base,
      result('validation', [
        {
          op: 'replace',
          section: 'outcomeCriteria',
          target: criterionId,
          text: 'Debited exactly once.',
          topic: '',
          given: '',
          when: '',
          then: '',
        },
      ]),
    );
    expect(story.outcomeCriteria[0]).toEqual({
      id: criterionId,
      text: 'Debited exactly once.',
      addedBy: 'original',
      changedBy: ['validation'],
    });
    expect(base).toEqual(snapshot);
  });

  it('marks a result whose every change conflicted as skipped', () => {
    const { results: merged } = mergeIterationResults(base, [
      result('user-roles', [add('outcomeCriteria', 'Only the holder transfers.')]),
      result('validation', [add('outcomeCriteria', 'Only the holder transfers.')]),
    ]);
    expect(merged.map((r) => r.status)).toEqual(['applied', 'skipped']);
  });
});

describe('Given/When/Then patches', () => {
  it('derive the criterion text from the steps and keep them on the item', () => {
    const patch: Patch = {
      ...add('outcomeCriteria', 'ignored when the steps are complete'),
      given: 'the customer has 100 EUR',
      when: 'they transfer 30 EUR',
      then: 'their balance shows 70 EUR',
    };
    const { changes } = validatePatches(base, 'validation', [patch]);
    expect(changes[0]).toMatchObject({
      text: 'Given the customer has 100 EUR, when they transfer 30 EUR, then their balance shows 70 EUR.',
      given: 'the customer has 100 EUR',
    });
    const { story } = applyChanges(base, 'validation', changes);
    expect(story.outcomeCriteria.at(-1)).toMatchObject({ then: 'their balance shows 70 EUR' });
  });
});
