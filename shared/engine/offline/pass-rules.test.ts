import { describe, expect, it } from 'vitest';
import type { SectionName } from '../catalog';
import { sampleStories, sampleStory } from '../fixtures/sample-stories';
import { overallScore, reviewVerdict } from '../review';
import { runWorkflow } from '../runner';
import { criterionText, itemId, parseCriterionSteps, parseStory, type Story } from '../story';
import { createOfflineAdapter } from './offline-adapter';
import { offlineConsolidation, offlineReview, offlineRewrite } from './pass-rules';

const llm = createOfflineAdapter();

/** Adds items as an iteration would (not the user's own text, which passes never remove). */
function withItems(
  story: Story,
  section: Exclude<SectionName, 'implementationNotes'>,
  texts: readonly string[],
): Story {
  const next = structuredClone(story);
  for (const text of texts) {
    const steps = section === 'outcomeCriteria' ? parseCriterionSteps(text) : undefined;
    next[section].push({
      id: itemId(section, 'security', text),
      text,
      addedBy: 'security',
      changedBy: [],
      ...steps,
    });
  }
  return next;
}

const transfer = parseStory(
  'As a bank customer, I want to transfer money to another account so that I can pay my rent.',
);
const good = [
  'Given the bank customer is signed in, when they confirm a transfer of 50 EUR, then their balance drops by 50 EUR.',
  'Given an amount above the available balance, when the bank customer confirms the transfer, then it is refused and no money moves.',
];

describe('offline judge', () => {
  it('approves specific, testable criteria that keep to the story', () => {
    const story = withItems(withItems(transfer, 'outcomeCriteria', good), 'systemCriteria', [
      'A repeated transfer request with the same idempotency key moves money once.',
    ]);
    const review = offlineReview(story);
    expect(review.issues).toEqual([]);
    expect(reviewVerdict(review.scores, 1)).toBe('approve');
  });

  it('names what is missing when nothing says what the actor sees, and its weakest dimensions as people read them', () => {
    const story = withItems(transfer, 'systemCriteria', [
      'A repeated transfer request with the same idempotency key moves money once.',
    ]);
    const review = offlineReview({ ...story, outcomeCriteria: [] });
    expect(review.scores.testableOutcome).toBe(2);
    expect(review.issues).toContainEqual({
      dimension: 'testableOutcome',
      detail: 'No outcome criterion says what the bank customer sees when it works.',
      itemIds: [],
    });
    expect(review.summary).toMatch(/weakest on testable outcome criteria \(\d+ issues?\)\.$/);
  });

  it('never approves what it cannot read: a story in another language goes to a person', async () => {
    const result = await runWorkflow({
      llm,
      story: parseStory(
        'Als Vertriebsleiter möchte ich jeden Montag einen Bericht mit den Umsätzen der letzten Woche pro Region per E-Mail erhalten, damit ich Abweichungen früh erkenne.',
      ),
    });
    expect(result.review?.verdict).toBe('manual-review');
    expect(result.review?.issues.map((issue) => issue.detail)).toContain(
      'The story is in German, which the offline engine does not read: nobody checked the criteria against it.',
    );
  });

  it('never approves a story whose action it could not read', async () => {
    const result = await runWorkflow({
      llm,
      story: parseStory('As a user I want the dashboard to be more intuitive and faster.'),
    });
    expect(result.review?.verdict).toBe('manual-review');
    expect(result.review?.issues.map((issue) => issue.detail).join('\n')).toMatch(
      /could not read what the user wants to do/,
    );
  });

  it('scores missing Given/When/Then low and names the items', () => {
    const story = withItems(transfer, 'outcomeCriteria', [
      'The balance drops by the amount.',
      'The recipient is shown.',
    ]);
    const review = offlineReview(story);
    expect(review.scores.testableOutcome).toBe(0);
    expect(
      review.issues
        .filter((issue) => issue.dimension === 'testableOutcome')
        .flatMap((issue) => issue.itemIds),
    ).toEqual(story.outcomeCriteria.map((item) => item.id));
  });

  it('finds duplicates in meaning and generic filler', () => {
    const story = withItems(transfer, 'outcomeCriteria', [
      ...good,
      'Given an amount above the available balance, when the bank customer confirms a transfer, then the transfer is refused and no money moves.',
    ]);
    const padded = withItems(story, 'systemCriteria', ['All features work as expected and are well tested.']);
    const review = offlineReview(padded);
    const minimal = review.issues.filter((issue) => issue.dimension === 'minimal');
    expect(minimal.map((issue) => issue.detail)).toEqual([
      expect.stringMatching(/^Repeats oc-security-/),
      expect.stringMatching(/^Generic filler that would fit any story/),
    ]);
    expect(minimal[0]?.itemIds).toEqual([padded.outcomeCriteria[2]?.id, padded.outcomeCriteria[1]?.id]);
    expect(review.scores.minimal).toBeLessThanOrEqual(3);
  });

  it('finds contradictions of the story: own-account limits, a negated wish, another number', () => {
    const story = withItems(transfer, 'outcomeCriteria', [
      'Given the bank customer is signed in, when they transfer money, then they may transfer only within their own accounts.',
      'The bank customer cannot transfer money.',
    ]);
    const review = offlineReview(story);
    expect(review.issues.filter((issue) => issue.dimension === 'consistentWithStory')).toHaveLength(2);
    expect(review.scores.consistentWithStory).toBe(1);
    const reminder = withItems(
      parseStory(
        'The system shall send a reminder email 24 hours before each booking so that guests do not forget.',
      ),
      'systemCriteria',
      ['The reminder email is sent 48 hours before each booking.'],
    );
    expect(
      offlineReview(reminder)
        .issues.map((issue) => issue.detail)
        .join('\n'),
    ).toContain('Contradicts the story: the story states "24 hours before each booking"');
    const alarm = parseStory(
      'As a homeowner, I want a notification when the battery is below 20% so that I replace it in time.',
    );
    const asLimit = withItems(alarm, 'outcomeCriteria', [
      'Given a value just above the limit "below 20%", when the homeowner asks for it, then it is refused, while exactly "20%" is accepted.',
    ]);
    expect(
      offlineReview(asLimit)
        .issues.map((issue) => issue.detail)
        .join('\n'),
    ).toContain('the story states "below 20%" as what triggers it, not as a limit');
    const asTrigger = withItems(alarm, 'systemCriteria', [
      'A test at exactly "20%" sends no notification, while a test at 19% sends one.',
    ]);
    expect(offlineReview(asTrigger).scores.consistentWithStory).toBe(5);
  });

  it('finds broken grammar, vague words, unmeasurable system criteria, uncovered facts and invented formats', () => {
    const story = withItems(
      withItems(
        parseStory(
          'As an accountant, I want to export the invoices of a month to CSV so that I can file them.',
        ),
        'outcomeCriteria',
        [
          'Given the accountant, when they can a the export, then it works fast.',
          'Given the accountant exports, when the file is ready, then a PDF is attached.',
        ],
      ),
      'systemCriteria',
      ['The export should be robust.'],
    );
    const review = offlineReview(story);
    const byDimension = (dimension: string) =>
      review.issues.filter((issue) => issue.dimension === dimension).map((issue) => issue.detail);
    expect(byDimension('wellFormed').join(' ')).toContain('an article where a verb belongs');
    expect(byDimension('unambiguous').join(' ')).toContain('"fast"');
    expect(byDimension('testableSystem')).toHaveLength(1);
    expect(byDimension('completeWithoutInvention').join(' ')).toContain(
      'Names PDF, which the story does not ask for',
    );
    expect(byDimension('completeWithoutInvention').join(' ')).toContain(
      'The story states "CSV", and no item checks it.',
    );
  });

  it('scores the engine output at least 1.5 points above the same output degraded', async () => {
    const gaps: number[] = [];
    for (const { text } of sampleStories) {
      const { story } = await runWorkflow({ llm, story: parseStory(text) });
      const degraded = structuredClone(story);
      degraded.outcomeCriteria = degraded.outcomeCriteria.map(({ given: _g, when: _w, then, ...item }) => ({
        ...item,
        text: `${then ?? item.text}.`,
      }));
      degraded.outcomeCriteria.push(
        ...degraded.outcomeCriteria.slice(0, 2).map((item) => ({ ...item, id: `${item.id}-again` })),
      );
      degraded.systemCriteria.push({
        id: 'sc-filler',
        text: 'The system must be fast, secure and reliable.',
        addedBy: 'x',
        changedBy: [],
      });
      gaps.push(overallScore(offlineReview(story).scores) - overallScore(offlineReview(degraded).scores));
    }
    expect(gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length).toBeGreaterThanOrEqual(1.5);
  });
});

describe('offline consolidation', () => {
  it('removes repeats in meaning and contradictions, which become open questions', () => {
    const story = withItems(transfer, 'outcomeCriteria', [
      ...good,
      'Given an amount above the available balance, when the bank customer confirms a transfer, then the transfer is refused and no money moves.',
      'Given the bank customer is signed in, when they transfer money, then they may transfer only within their own accounts.',
    ]);
    const output = offlineConsolidation(story);
    expect(output.patches.filter((patch) => patch.op === 'remove').map((patch) => patch.target)).toEqual([
      story.outcomeCriteria[2]?.id,
      story.outcomeCriteria[3]?.id,
    ]);
    expect(output.patches.find((patch) => patch.op === 'add')).toMatchObject({
      section: 'openQuestions',
      text: expect.stringContaining('contradicted the story'),
    });
    expect(output.coverage).toEqual([
      {
        feature: 'transfer money to another account',
        itemIds: expect.arrayContaining([story.outcomeCriteria[0]?.id]),
      },
    ]);
    expect(output.split).toEqual([]);
  });

  it('proposes the split of a compound story and maps each feature to its criteria', async () => {
    const { story } = await runWorkflow({ llm, story: parseStory(sampleStory('product-search.md')) });
    const output = offlineConsolidation(story);
    expect(output.split).toHaveLength(2);
    expect(output.coverage.map((entry) => entry.feature)).toEqual([
      'search the catalogue by keyword',
      'filter the catalogue by price, size and colour',
    ]);
    expect(output.coverage.every((entry) => entry.itemIds.length > 0)).toBe(true);
  });

  it('names at most three criteria per feature, told apart by the words the features do not share', () => {
    const story = parseStory(
      [
        'As a loyalty club member, I want to see my points balance and see the rewards I can claim.',
        '',
        '## Acceptance criteria',
        '- The points balance shows after sign-in.',
        '- The points balance updates after each order.',
        '- The points balance shows the date of the last change.',
        '- The points balance is never negative.',
        '- Each reward shows the points it costs.',
        '- A reward I cannot afford yet is marked as such.',
      ].join('\n'),
    );
    const [balance, rewards] = offlineConsolidation(story).coverage;
    const ids = (first: number, last: number) =>
      story.outcomeCriteria
        .slice(first, last)
        .map((item) => item.id)
        .sort();
    expect(balance?.itemIds).toHaveLength(3);
    expect(balance?.itemIds.every((id) => ids(0, 4).includes(id))).toBe(true);
    expect([...(rewards?.itemIds ?? [])].sort()).toEqual(ids(4, 6));
  });

  it('keeps criteria worded alike that test different features, and maps a feature only by its own words', () => {
    const story = withItems(
      parseStory(
        'As a loyalty club member, I want to see my points balance and see the rewards I can claim so that I am encouraged to buy again.',
      ),
      'outcomeCriteria',
      [
        'Given the loyalty club member wants to see their points balance, when the page loads, then it shows their points balance with the time it was last updated.',
        'Given the loyalty club member wants to see the rewards they can claim, when the page loads, then it shows the rewards they can claim with the time it was last updated.',
      ],
    );
    const withMetric = withItems(story, 'systemCriteria', [
      'A weekly report shows how many loyalty club members see their points balance and whether "I am encouraged to buy again" follows.',
    ]);
    const output = offlineConsolidation(withMetric);
    expect(output.patches).toEqual([]);
    expect(output.coverage.find((entry) => entry.feature.includes('rewards'))?.itemIds).toEqual([
      story.outcomeCriteria[1]?.id,
    ]);
    expect(offlineReview(withMetric).issues.filter((issue) => issue.dimension === 'minimal')).toEqual([]);
  });

  it("never removes the user's own criteria", () => {
    const story = parseStory(
      'As a bank customer, I want to transfer money to another account.\n\n## Acceptance criteria\n- The transfer is refused above the balance.\n- The transfer is refused above the balance!',
    );
    expect(offlineConsolidation(story).patches).toEqual([]);
  });
});

describe('offline rewrite', () => {
  it('fixes what rules can and raises the rest as open questions', () => {
    const story = withItems(
      withItems(transfer, 'outcomeCriteria', [
        'If the amount is negative, the transfer is refused.',
        'The bank customer cannot transfer money.',
        'The transfer is fast.',
      ]),
      'systemCriteria',
      ['All features work as expected and are well tested.', 'Transfers should be handled with care.'],
    );
    const review = offlineReview(story);
    const output = offlineRewrite(story, review.issues);
    const [conditional, negated, fast] = story.outcomeCriteria;
    const [filler] = story.systemCriteria;
    expect(output.patches).toContainEqual(
      expect.objectContaining({
        op: 'replace',
        target: conditional?.id,
        text: criterionText({
          given: 'the bank customer is using this feature',
          when: 'the amount is negative',
          then: 'the transfer is refused',
        }),
      }),
    );
    expect(output.patches).toContainEqual(expect.objectContaining({ op: 'remove', target: negated?.id }));
    expect(output.patches).toContainEqual(expect.objectContaining({ op: 'remove', target: filler?.id }));
    expect(output.patches).toContainEqual(
      expect.objectContaining({
        op: 'replace',
        target: fast?.id,
        text: 'The transfer is "fast", measured as: within 2 seconds for 95% of requests.',
      }),
    );
    const questions = output.patches
      .filter((patch) => patch.section === 'openQuestions')
      .map((patch) => patch.text);
    expect(questions.join('\n')).toContain('contradicted the story and was removed');
    expect(questions.join('\n')).toContain('How is "Transfers should be handled with care." measured');
  });

  it('adds the criteria of a stated value no item checks', () => {
    const story = parseStory(
      'The system shall send a reminder email 24 hours before each booking so that guests do not forget.',
    );
    const review = offlineReview(withItems(story, 'outcomeCriteria', good));
    const output = offlineRewrite(story, review.issues);
    expect(output.patches.map((patch) => patch.text).join('\n')).toContain('"24 hours before each booking"');
  });
});
