import { describe, expect, it } from 'vitest';
import { mockupInventoryOutputSchema } from '../engine/mockup-inventory';
import { answerPrompt } from '../engine/offline/offline-adapter';
import { buildReviewRequest, engineOutputSchema } from '../engine/prompts';
import { parseStory } from '../engine/story';
import { systemOutputSchema } from '../engine/system-prompts';
import { wireSchema } from './anthropic-adapter';

type JsonSchema = { [key: string]: unknown };

/** Every object schema in a JSON schema, `$defs` included. */
function objectSchemas(node: unknown): JsonSchema[] {
  if (typeof node !== 'object' || node === null) return [];
  const children = Object.values(node).flatMap((value) =>
    Array.isArray(value) ? value.flatMap(objectSchemas) : objectSchemas(value),
  );
  const schema = node as JsonSchema;
  return schema.type === 'object' && typeof schema.properties === 'object' ? [schema, ...children] : children;
}

function optionalProperties(schema: JsonSchema): string[] {
  return objectSchemas(schema).flatMap((object) => {
    const required = new Set((object.required as string[] | undefined) ?? []);
    return Object.keys(object.properties as object).filter((key) => !required.has(key));
  });
}

// Structured output compiles the schema into a grammar; each optional property grows it, and a request may
// have at most 24 of them.
const optionalPropertyLimit = 24;

describe('output schemas on the wire', () => {
  it.each([
    ['engine', engineOutputSchema],
    ['system', systemOutputSchema],
    ['mockup', mockupInventoryOutputSchema],
  ] as const)(
    'the %s schema stays within the optional-property limit of structured output',
    (name, schema) => {
      const wire = wireSchema(schema, name);
      expect(optionalProperties(wire).length).toBeLessThanOrEqual(optionalPropertyLimit);
      expect(JSON.stringify(wire)).not.toMatch(/"(anyOf|oneOf|nullable)"/);
    },
  );

  it('lets an engine answer omit what its purpose does not write, and an edit what it does not use', () => {
    const wire = wireSchema(engineOutputSchema, 'engine');
    expect(wire.required ?? []).toEqual([]);
    const patch = objectSchemas(wire).find((object) => 'given' in (object.properties as object));
    expect(patch?.required).toEqual(['op', 'section']);
    expect(wire.additionalProperties).toBe(false);
  });

  it('has the offline engine write only the fields of its purpose, as a model does under that schema', () => {
    const story = parseStory(
      'As a customer, I want to transfer money to another account so that I can pay my rent.\n\n' +
        '## Outcome criteria\n- Given I am signed in, when I confirm a transfer of 50 EUR, then my balance drops by 50 EUR.',
    );
    const request = buildReviewRequest({ story, model: 'claude-sonnet-5-5', attempt: 1, round: 1 });
    const text = answerPrompt(`${request.instructions}\n\n${request.context}\n\n${request.task}`);
    const written = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(written).sort()).toEqual(expect.arrayContaining(['scores', 'summary']));
    for (const unused of ['patches', 'findings', 'coverage', 'split', 'score', 'feedback']) {
      expect(written).not.toHaveProperty(unused);
    }
    const parsed = engineOutputSchema.parse(written);
    expect(parsed.patches).toEqual([]);
    expect(parsed.score).toBe(0);
    expect(Object.values(parsed.scores).every((score) => score >= 0 && score <= 5)).toBe(true);
  });
});
