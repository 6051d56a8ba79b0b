/** A story's language as the offline engine detects it. */
export interface StoryLanguage {
  /** ISO 639-1 code, or `und` when the script is known but the language is not. */
  code: string;
  /** English name, for messages ("French"); for `und`, the script ("text in Cyrillic script"). */
  name: string;
}

export const english: StoryLanguage = { code: 'en', name: 'English' };

/**
 * Short, frequent words of each language a story is commonly written in. A word listed for several languages
 * counts for each of them in proportion, so "de" or "la" alone decides nothing.
 */
const functionWords: Record<string, { name: string; words: string }> = {
  en: {
    name: 'English',
    words:
      'the a an and or to of in on for with my our i we want so that as is are be can will this it at by from your their not need should',
  },
  fr: {
    name: 'French',
    words:
      'le la les des du de un une et ou je veux pour que qui mon ma mes en tant afin dans sur avec est pas ne vers son sa ses nous vous puisse voudrais souhaite',
  },
  de: {
    name: 'German',
    words:
      'der die das den dem des ein eine einen und oder ich möchte will für mit meine meinen mein nicht ist damit auf zu im als kann um von muss sehen',
  },
  nl: {
    name: 'Dutch',
    words: 'de het een en of ik wil voor met mijn niet is zodat op te in om van als kan naar moet graag',
  },
  es: {
    name: 'Spanish',
    words:
      'el la los las un una y o yo quiero para que con mi mis no es en de como del por al puedo nadie lo',
  },
  pt: {
    name: 'Portuguese',
    words: 'o a os as um uma e ou eu quero para que com meu minha não é em de como do da por posso possa',
  },
  it: {
    name: 'Italian',
    words: 'il lo la gli le un una e o io voglio per che con mio mia non è in di come del della da posso',
  },
};

const weights = new Map<string, Map<string, number>>();
for (const [code, { words }] of Object.entries(functionWords)) {
  for (const word of words.split(' ')) {
    const languages = weights.get(word) ?? new Map<string, number>();
    languages.set(code, 1);
    weights.set(word, languages);
  }
}
for (const languages of weights.values()) {
  for (const code of languages.keys()) languages.set(code, 1 / languages.size);
}

/** Letters that occur in one language of the list and hardly in the others. */
const letterHints: { code: string; pattern: RegExp }[] = [
  { code: 'de', pattern: /[äöüß]/giu },
  { code: 'es', pattern: /[ñ¿¡]/giu },
  { code: 'pt', pattern: /[ãõ]/giu },
  { code: 'fr', pattern: /[èêëœàùç]/giu },
];

/** Scripts other than Latin: the language is not read, but the script says it is not English. */
const scripts: { name: string; pattern: RegExp; code?: string }[] = [
  { name: 'Japanese', code: 'ja', pattern: /[\p{Script=Hiragana}\p{Script=Katakana}]/gu },
  { name: 'Korean', code: 'ko', pattern: /\p{Script=Hangul}/gu },
  { name: 'Chinese', code: 'zh', pattern: /\p{Script=Han}/gu },
  { name: 'text in Cyrillic script', pattern: /\p{Script=Cyrillic}/gu },
  { name: 'Arabic', code: 'ar', pattern: /\p{Script=Arabic}/gu },
  { name: 'Hebrew', code: 'he', pattern: /\p{Script=Hebrew}/gu },
  { name: 'Greek', code: 'el', pattern: /\p{Script=Greek}/gu },
  { name: 'text in Devanagari script', pattern: /\p{Script=Devanagari}/gu },
  { name: 'Thai', code: 'th', pattern: /\p{Script=Thai}/gu },
];

/**
 * Detects the language of a story from its function words (English, French, German, Dutch, Spanish,
 * Portuguese, Italian) or its script (others). English wins ties and texts too short to tell, so an English
 * story mentioning "Quebec" or "de Vries" stays English.
 */
export function detectLanguage(text: string): StoryLanguage {
  const sample = text.slice(0, 2_000);
  const letters = sample.match(/\p{L}/gu)?.length ?? 0;
  for (const script of scripts) {
    const count = sample.match(script.pattern)?.length ?? 0;
    if (letters > 0 && count / letters > 0.3) return { code: script.code ?? 'und', name: script.name };
  }
  const scores = new Map<string, number>();
  for (const word of sample.toLowerCase().match(/\p{L}+/gu) ?? []) {
    for (const [code, weight] of weights.get(word) ?? []) scores.set(code, (scores.get(code) ?? 0) + weight);
  }
  for (const { code, pattern } of letterHints) {
    const count = sample.match(pattern)?.length ?? 0;
    scores.set(code, (scores.get(code) ?? 0) + Math.min(2, count * 0.5));
  }
  const englishScore = scores.get('en') ?? 0;
  let best = english;
  let bestScore = englishScore;
  for (const [code, score] of scores) {
    if (code !== 'en' && score > bestScore && score >= 1.5) {
      best = { code, name: functionWords[code]?.name ?? code };
      bestScore = score;
    }
  }
  return best;
}
