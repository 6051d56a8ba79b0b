import { describe, expect, it } from 'vitest';
import { sampleStories } from '../fixtures/sample-stories';
import { iterationIds } from '../catalog';
import { parseStory } from '../story';
import { sentenceProblems } from './grammar-guard';
import { offlineIteration } from './iteration-rules';

describe('grammar guard', () => {
  it.each([
    ['Only a signed-in customer can a the transfer.', 'an article where a verb belongs'],
    ['They the money to another account.', 'an article where a verb belongs'],
    ['The the amount is refused.', '"The the" repeated'],
    ['Given the customer, when they transfers money, then it is refused.', '"they" with a singular verb'],
    ['The user can use the request.', 'a placeholder object'],
    ['Orders created in the through the API are listed.', 'an article with no noun'],
    ['Then the them the Viewer is shown.', 'an article with no noun'],
    [
      'When they export the subscribers who opted during the as CSV, then they get the file.',
      'an article with no noun',
    ],
    [
      'Given they upload a PDF of before the deadline, when they confirm, then it is saved.',
      '"of" with no noun after it',
    ],
    ["The page shows the today's appointments.", "an article before a day's possessive"],
    ['Then it shows the how many sick days each team took.', 'an article before a question clause'],
    [
      'Given the client de la banque is signed in, when they pay, then it works.',
      'words of another language outside quotes',
    ],
    ['An URL is shown.', '"an URL" should be "a URL"'],
    ['A SMS is sent.', '"a SMS" should be "an SMS"'],
    ['the amount is refused.', 'does not start with a capital letter'],
    ['The amount is refused', 'does not end with a full stop or a question mark'],
    ['The amount of {amount} is refused.', 'an unfilled slot'],
    ['The amount is undefined.', 'an unfilled slot'],
    ['The amount "" is refused.', 'an empty slot or stray punctuation'],
    ['The limit (10 MB is shown.', 'unbalanced parentheses'],
    [
      'Given the editor wants search to be, when the page loads, then it shows.',
      '"to be" with nothing after it',
    ],
    [
      'Given the accountant closed the books, when for a month has passed, then the period ends.',
      'a preposition where a subject belongs',
    ],
  ])('flags %s', (sentence, problem) => {
    expect(sentenceProblems(sentence)).toContain(problem);
  });

  it.each([
    'Given the bank customer is not signed in, when they try to transfer money, then they are asked to sign in first.',
    'How far ahead can the patient book, and may the patient cancel for free?',
    'Given a valid request to delete a shipment via DELETE /v2/shipments/{id}, when the client sends it, then the response is 204.',
    'An SMS with a URL and an API key is sent within an hour to a user of a European bank.',
    'Given the "client de la banque" holds several accounts, when they start a transfer, then only their own accounts are offered.',
    'A repeated request with the same Idempotency-Key within 24 hours returns the first response.',
    'The as-built drawing and the per-seat price are shown as entered.',
  ])('accepts %s', (sentence) => {
    expect(sentenceProblems(sentence)).toEqual([]);
  });

  it('lets no broken sentence through on the sample stories, every iteration', () => {
    for (const { name, text } of sampleStories) {
      const story = parseStory(text);
      for (const iterationId of iterationIds) {
        for (const patch of offlineIteration(story, iterationId, []).patches) {
          expect(sentenceProblems(patch.text), `${name} ${iterationId}: ${patch.text}`).toEqual([]);
        }
      }
    }
  });
});
