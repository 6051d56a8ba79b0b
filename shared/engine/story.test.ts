import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { sampleStories } from './fixtures/sample-stories';
import {
  criterionSteps,
  criterionText,
  itemId,
  parseCriterionSteps,
  parseStory,
  renderJson,
  renderMarkdown,
  storySchema,
} from './story';

/** Sentences of the user's text, without front matter and list markers. */
function sentences(text: string): string[] {
  const body = text.replace(/^---\n[\s\S]*?\n---\n/, '');
  return body
    .split('\n')
    .map((line) => line.replace(/^\s*[-*]\s+/, '').trim())
    .filter((line) => line !== '')
    .flatMap((line) => line.split(/(?<=[.!?;])\s+/))
    .filter((sentence) => sentence.length > 0);
}

describe('parseStory / renderMarkdown', () => {
  it.each(sampleStories)('keeps every original sentence of $name through parse and render', ({ text }) => {
    const story = parseStory(text);
    const markdown = renderMarkdown(story);
    const expected = sentences(text);
    expect(expected.length).toBeGreaterThan(0);
    for (const sentence of expected) expect(markdown).toContain(sentence);
    expect(story.original).toBe(text.replace(/^---\n[\s\S]*?\n---\n/, '').trim());
  });

  it.each(sampleStories)('reads productType from the front matter of $name', ({ text }) => {
    const declared = /productType: (\S+)/.exec(text)?.[1];
    expect(parseStory(text).productType).toBe(declared);
  });

  it('splits "As a ..., I want ... so that ..." into the statement', () => {
    const story = parseStory(
      'As a returning customer, I want to log in with my email and password so that I can see my order history.',
    );
    expect(story.statement).toEqual({
      asA: 'returning customer',
      iWant: 'to log in with my email and password',
      soThat: 'I can see my order history',
    });
    expect(story.productType).toBe('web');
  });

  it('leaves the benefit empty when the story has none', () => {
    const story = parseStory('As a bank customer, I want to transfer money to another account.');
    expect(story.statement.soThat).toBe('');
    expect(story.statement.iWant).toBe('to transfer money to another account');
  });

  it('accepts free text without a statement', () => {
    const story = parseStory('The dashboard should be fast.');
    expect(story.statement).toEqual({ asA: '', iWant: 'The dashboard should be fast', soThat: '' });
  });

  it('turns markdown sections and bullets into items attributed to the original', () => {
    const story = parseStory(
      [
        '# Transfers',
        'As a bank customer, I want to transfer money so that I can pay rent.',
        '',
        'Constraints:',
        '- PSD2 applies.',
        '',
        '## Acceptance criteria',
        '- [ ] The amount is debited once.',
        '- The recipient sees the transfer within a day.',
        '',
        '## Open questions',
        '- Which limits apply?',
      ].join('\n'),
    );
    expect(story.outcomeCriteria.map((item) => [item.text, item.addedBy])).toEqual([
      ['The amount is debited once.', 'original'],
      ['The recipient sees the transfer within a day.', 'original'],
    ]);
    expect(story.openQuestions.map((item) => item.text)).toEqual(['Which limits apply?']);
    expect(story.implementationNotes.map((note) => [note.topic, note.text])).toEqual([
      ['Constraints', 'PSD2 applies.'],
    ]);
    expect(story.outcomeCriteria[0]?.id).toBe(
      itemId('outcomeCriteria', 'original', 'The amount is debited once.'),
    );
  });

  it('files product-owner notes under implementation notes with their lead-in as topic', () => {
    const story = parseStory(sampleStories.find((s) => s.name === 'appointment-booking.md')?.text ?? '');
    expect(story.implementationNotes.map((note) => [note.topic, note.text])).toEqual([
      [
        'Notes from the product owner',
        'Practices in Belgium, the Netherlands and Quebec; French, Dutch and English.',
      ],
      ['Notes from the product owner', 'Some patients use screen readers.'],
    ]);
  });

  it('parses its own markdown back to the same story', () => {
    for (const { text } of sampleStories) {
      const story = parseStory(text);
      const again = parseStory(renderMarkdown(story), { productType: story.productType });
      expect(again).toEqual(story);
    }
  });

  it('reads Windows line endings and a byte-order mark', () => {
    const story = parseStory(
      '\uFEFF---\r\nproductType: desktop\r\n---\r\nAs an accountant, I want to export invoices.\r\n',
    );
    expect(story.productType).toBe('desktop');
    expect(story.statement.asA).toBe('accountant');
    expect(renderMarkdown(story)).toContain('> As an accountant, I want to export invoices.\n');
  });

  it('lets an explicit product type override the front matter', () => {
    expect(
      parseStory('---\nproductType: web\n---\nAs a user, I want x.', { productType: 'api' }).productType,
    ).toBe('api');
  });

  it('rejects an unknown product type and an empty story with validation_failed', () => {
    expect(() => parseStory('---\nproductType: fridge\n---\nAs a user, I want x.')).toThrow(AppError);
    expect(() => parseStory('---\nproductType: web\n---\n  \n')).toThrow(/empty/);
  });

  it('renders JSON that validates against the story schema', () => {
    const story = parseStory(sampleStories[0]?.text ?? '');
    expect(storySchema.parse(JSON.parse(renderJson(story)))).toEqual(story);
  });
});

describe('Given/When/Then criteria', () => {
  it('composes one sentence from the steps and reads it back', () => {
    const steps = {
      given: 'Given the customer is signed in',
      when: 'they confirm.',
      then: 'the balance drops by the amount',
    };
    const text = criterionText(steps);
    expect(text).toBe(
      'Given the customer is signed in, when they confirm, then the balance drops by the amount.',
    );
    expect(parseCriterionSteps(text)).toEqual({
      given: 'the customer is signed in',
      when: 'they confirm',
      then: 'the balance drops by the amount',
    });
    const parsed = parseStory(
      `As a customer, I want X.\n\n## Outcome acceptance criteria\n\n- [ ] ${text}\n`,
    );
    expect(parsed.outcomeCriteria[0]).toMatchObject({ text, given: 'the customer is signed in' });
  });

  it('leaves plain criteria and incomplete steps as text', () => {
    expect(parseCriterionSteps('The amount is debited once.')).toBeUndefined();
    expect(criterionSteps({ given: 'a', when: '', then: 'c' })).toBeUndefined();
  });
});
