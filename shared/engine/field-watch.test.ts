import { describe, expect, it } from 'vitest';
import { FieldWatch } from './field-watch';

/** Feeds `text` one character at a time and returns what was reported, with how much of the text it took. */
function watch(text: string): { reports: unknown[]; readUpTo: number[] } {
  const reports: unknown[] = [];
  const readUpTo: number[] = [];
  let position = 0;
  const fieldWatch = new FieldWatch('patches', new Set(['findings', 'coverage']), (value) => {
    reports.push(value);
    readUpTo.push(position);
  });
  for (const character of text) {
    position += 1;
    fieldWatch.write(character);
  }
  return { reports, readUpTo };
}

describe('FieldWatch', () => {
  it('reports a field as soon as its value is complete, before the rest of the answer', () => {
    const answer =
      '{"summary":"Removed 1 [repeat]}.","patches":[{"op":"remove","target":"oc-1"}],"coverage":[]}';
    const { reports, readUpTo } = watch(answer);
    expect(reports).toEqual([[{ op: 'remove', target: 'oc-1' }]]);
    expect(readUpTo).toEqual([answer.indexOf(',"coverage"')]);
  });

  it('reports an omitted field as undefined once a later field begins, or when the answer closes', () => {
    const later = '{"summary":"Nothing to remove.","coverage":[{"feature":"x","itemIds":[]}]}';
    expect(watch(later)).toEqual({ reports: [undefined], readUpTo: [later.indexOf('coverage') + 9] });
    expect(watch('{"summary":"Nothing."}').reports).toEqual([undefined]);
  });

  it('is not misled by nested keys of the same name or by a field the schema puts before it', () => {
    const answer = '{"summary":"s","findings":[{"coverage":1,"patches":[]}]}';
    const { reports, readUpTo } = watch(answer);
    expect(reports).toEqual([undefined]);
    expect(readUpTo).toEqual([answer.indexOf('findings') + 9]);
  });

  it('reports nothing for an answer that is not JSON, and starts over for a retried answer', () => {
    const reports: unknown[] = [];
    const fieldWatch = new FieldWatch('patches', new Set(['coverage']), (value) => reports.push(value));
    fieldWatch.write('{"summary": oops "patches":[]}');
    expect(reports).toEqual([]);
    fieldWatch.restart();
    fieldWatch.write('{"patches":[]');
    fieldWatch.write(',"coverage":[]}');
    expect(reports).toEqual([[]]);
  });
});
