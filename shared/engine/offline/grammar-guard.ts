import { isVerb } from './english';

/*
 * The grammar guard: checks a sentence the offline engine is about to emit for the ways filled-in templates
 * break ("can a the ...", "the the", "they transfers", an empty slot, words of another language in an English
 * sentence). It knows nothing of the templates, so the quality benchmark also uses it as an independent check
 * on everything the engine wrote.
 */

const subjectPronouns = 'I|we|they|he|she|you';
const modals = 'can|could|will|would|should|must|may|might|cannot|shall';
const articles = 'a|an|the|their|my|your|our|his|its';

/** Letters pronounced with a vowel sound when an acronym is read letter by letter ("an SMS", "a URL"). */
const vowelSoundLetters = new Set('AEFHILMNORSX'.split(''));
/** Words starting with a vowel letter but a consonant sound ("a user"), or a silent h ("an hour"). */
const consonantSound = /^(?:u[nrs]?[aeiou]|use|usu|uni|eu|one|once|ur[aeiou])/i;
const silentH = /^(?:hour|honest|honou?r|heir)/i;

/** Frequent function words of other languages: one in an English sentence means a slot took foreign text. */
const foreignWords =
  /\b(?:de la|je|veux|une|afin|und|ich|möchte|damit|quiero|zodat|mijn|voglio|della|quero)\b/iu;

function articleProblem(text: string): string | undefined {
  for (const match of text.matchAll(/\b(a|an)\s+([\p{L}\d][\p{L}\d-]*)/giu)) {
    const article = (match[1] ?? '').toLowerCase();
    const word = match[2] ?? '';
    if (/^\d/.test(word)) continue;
    const acronym = /^[A-Z]{2,}s?$/.test(word);
    const vowel = acronym
      ? vowelSoundLetters.has(word.charAt(0))
      : (/^[aeiou]/i.test(word) && !consonantSound.test(word)) || silentH.test(word);
    if (article === 'a' && vowel) return `"a ${word}" should be "an ${word}"`;
    if (article === 'an' && !vowel) return `"an ${word}" should be "a ${word}"`;
  }
  return undefined;
}

/**
 * "can a the ...", "they the ...": an article right after a modal or a subject pronoun. A question may invert
 * subject and modal ("may the customer schedule it?"), which is fine.
 */
function articleForVerb(text: string): boolean {
  const pattern = new RegExp(`\\b(${modals}|${subjectPronouns})\\s+(?:${articles})\\b`, 'gi');
  return text.split(/(?<=[.?!])\s+/).some((sentence) => {
    const question = sentence.endsWith('?');
    // Questions invert subject and modal ("How far ahead can the patient book?").
    return [...sentence.matchAll(pattern)].some(
      (match) => !(question && new RegExp(`^(?:${modals})$`, 'i').test(match[1] ?? '')),
    );
  });
}

function balanced(text: string, open: string, close: string): boolean {
  let depth = 0;
  for (const char of text) {
    if (char === open) depth += 1;
    if (char === close) depth -= 1;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/**
 * The problems of one emitted sentence (or question); empty when it reads as grammatical English. Quoted text
 * is the user's own and is not checked.
 */
export function sentenceProblems(sentence: string): string[] {
  const problems: string[] = [];
  const text = sentence
    .replace(/"[^"]+"/g, '"quote"')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return ['empty sentence'];
  if (!/^["'(\p{Lu}\d]/u.test(text)) problems.push('does not start with a capital letter');
  if (!/[.?!]["')]?$/.test(text)) problems.push('does not end with a full stop or a question mark');
  // "/v2/shipments/{id}" is a path the story names, not a slot the engine left empty.
  if (/\b(?:undefined|null|NaN|\[object)\b|\$\{|(?<!\/)\{[a-z]+\}/.test(text))
    problems.push('an unfilled slot');
  if (/""|\(\s*\)|\s[,.;:]|,,|,\s*\.|\.\s*\.(?!\.)/.test(text))
    problems.push('an empty slot or stray punctuation');
  if (articleForVerb(text)) problems.push('an article where a verb belongs');
  if (
    new RegExp(
      `\\b(?:${articles})\\s+(?:${articles}|${modals}|to|and|or|of|through|via|from|into|onto|with|during|within|per(?!-)|as(?!-)|them|him|me|us)\\b`,
      'i',
    ).test(text)
  ) {
    problems.push('an article with no noun');
  }
  const repeated = /\b([\p{L}]+)\s+\1\b/iu.exec(text);
  if (repeated && !/^(?:that|had|is)$/i.test(repeated[1] ?? '')) problems.push(`"${repeated[0]}" repeated`);
  const afterThey = /\bthey\s+([\p{L}]+)/iu.exec(text)?.[1]?.toLowerCase() ?? '';
  const singular =
    /^(?:is|was|has|does)$/.test(afterThey) ||
    (/[^s]s$/.test(afterThey) && isVerb(afterThey.replace(/(?:ie)?s$/, '')));
  if (singular) problems.push('"they" with a singular verb');
  if (/\buse the request\b|\bthe user the\b|\bto to\b/i.test(text)) problems.push('a placeholder object');
  // "the how many sick days ...": a question clause takes no article.
  if (/\b(?:a|an|the)\s+(?:how|what|which|whether|whom|whose)\b/i.test(text)) {
    problems.push('an article before a question clause');
  }
  // "the today's appointments": a day's possessive takes no article.
  if (/\b(?:a|an|the)\s+(?:today|tomorrow|yesterday|tonight)['’]s\b/i.test(text)) {
    problems.push("an article before a day's possessive");
  }
  if (/\bto be[,.;]/.test(text)) problems.push('"to be" with nothing after it');
  if (/\bof\s+(?:before|after|until|during|within|for|by|with|to|from)\b/i.test(text)) {
    problems.push('"of" with no noun after it');
  }
  if (/(?:^Given|,\s+when|,\s+then)\s+(?:for|of|by|with|from|to)\s/.test(text)) {
    problems.push('a preposition where a subject belongs');
  }
  const article = articleProblem(text);
  if (article) problems.push(article);
  if (foreignWords.test(text)) problems.push('words of another language outside quotes');
  if (!balanced(text, '(', ')')) problems.push('unbalanced parentheses');
  if ((sentence.match(/"/g) ?? []).length % 2 !== 0) problems.push('unbalanced quotes');
  return problems;
}

/** True when `sentence` has no problem the guard knows. */
export function isWellFormed(sentence: string): boolean {
  return sentenceProblems(sentence).length === 0;
}
