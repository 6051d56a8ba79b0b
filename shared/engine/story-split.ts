/**
 * Splits one text that holds several stories into the stories, deterministically, so a user can paste a
 * backlog as one text and see the split in the job. The first rule that finds two or more parts wins:
 * separator lines (`---`, `***`, `===`), then markdown headings (`# Checkout`), then every line that starts
 * a new user-story statement ("As a ...", optionally numbered or bulleted; also "Als", "En tant que", "Como").
 * Text before the first heading or statement belongs to the first story.
 */
export function splitStories(text: string): string[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (const rule of splitRules) {
    const parts = splitAt(lines, rule);
    if (parts.length >= 2) return parts;
  }
  return [text.trim()].filter((part) => part !== '');
}

interface SplitRule {
  /** Whether the line starts a new story (`starts`) or separates two and is dropped (`separates`). */
  kind: 'starts' | 'separates';
  pattern: RegExp;
}

const splitRules: readonly SplitRule[] = [
  { kind: 'separates', pattern: /^\s*(?:-{3,}|\*{3,}|={3,}|_{3,})\s*$/ },
  { kind: 'starts', pattern: /^\s{0,3}#{1,6}\s+\S/ },
  {
    kind: 'starts',
    pattern:
      /^\s*(?:(?:[-*•]|\d{1,3}[.)]|(?:story|us)\s*[-#]?\d{1,3}\s*[:.)-])\s*)?\**(?:as an?|als|en tant que|como)\s/i,
  },
];

function splitAt(lines: readonly string[], rule: SplitRule): string[] {
  const parts: string[][] = [[]];
  let started = false;
  for (const line of lines) {
    if (rule.pattern.test(line)) {
      if (rule.kind === 'separates') {
        parts.push([]);
        continue;
      }
      // The first start keeps any preamble with the first story.
      if (started) parts.push([]);
      started = true;
    }
    parts[parts.length - 1]?.push(line);
  }
  return parts.map((part) => part.join('\n').trim()).filter((part) => part !== '');
}
