import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { delimitContext } from '../llm/prompt-layout';
import { iterationIds } from './catalog';
import { injectionStory, sampleStory } from './fixtures/sample-stories';
import { createOfflineAdapter } from './offline/offline-adapter';
import { iterationOutputSchema } from './patch';
import {
  buildIterationRequest,
  buildVerificationRequest,
  decodeEngineRequest,
  decodeEngineText,
  buildConsolidationRequest,
  buildReviewRequest,
  buildRewriteRequest,
  engineInstructions,
  engineOutputSchema,
} from './prompts';
import { runWorkflow } from './runner';
import { parseStory, renderJson } from './story';

const story = parseStory(sampleStory('bank-transfer.md'));

/** Everything Anthropic's structured outputs reject or that makes a schema more than a plain object tree. */
function unsupportedKeywords(schema: unknown): string[] {
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (['anyOf', 'oneOf', 'allOf', 'not', '$ref', 'if'].includes(key)) found.push(key);
      visit(value);
    }
  };
  visit(schema);
  return found;
}

describe('prompts', () => {
  it('shares byte-identical instructions and output schema across every call, and the context across iterations', () => {
    const requests = iterationIds.map((iterationId) =>
      buildIterationRequest({ story, iterationId, model: 'claude-sonnet-5-5', attempt: 1 }),
    );
    expect(new Set(requests.map((r) => r.context)).size).toBe(1);
    expect(new Set(requests.map((r) => r.task)).size).toBe(iterationIds.length);
    const base = { story, model: 'claude-sonnet-5-5', attempt: 1 };
    const passes = [
      buildVerificationRequest({
        ...base,
        iterationId: 'security',
        proposal: { summary: '', patches: [], findings: [] },
      }),
      buildConsolidationRequest(base),
      buildReviewRequest({ ...base, round: 1 }),
      buildRewriteRequest({ ...base, round: 1, issues: [] }),
    ];
    const all = [...requests, ...passes];
    // The output schema precedes the instructions in the cached prefix, so it must be the same object too.
    expect(new Set(all.map((r) => r.instructions))).toEqual(new Set([engineInstructions]));
    expect(new Set(all.map((r) => r.schema))).toEqual(new Set([engineOutputSchema]));
    expect(new Set(all.map((r) => r.schemaName)).size).toBe(1);
    expect(passes[0]?.context).toBe(requests[0]?.context);
    expect(all.map((r) => r.purpose.iterationId).slice(-3)).toEqual([
      'consolidation',
      'review-1',
      'rewrite-1',
    ]);
  });

  it("keeps the shared prefix above every model's minimum cacheable length", () => {
    const schemaText = JSON.stringify(z.toJSONSchema(engineOutputSchema));
    // About four characters a token (the local Messages API's estimate); 4,096 tokens is the largest minimum.
    expect((engineInstructions.length + schemaText.length) / 4).toBeGreaterThan(4_096);
  });

  it("carries every iteration's checklist, examples and when it must add nothing", () => {
    for (const id of iterationIds) {
      expect(engineInstructions).toContain(`## ${id}:`);
    }
    expect(engineInstructions).toContain('Server-side re-validation of every rule');
    expect(engineInstructions.match(/^Add nothing when /gm)).toHaveLength(iterationIds.length);
    expect(engineInstructions.match(/^Good: /gm)).toHaveLength(iterationIds.length);
    expect(engineInstructions.match(/^Bad: /gm)).toHaveLength(iterationIds.length);
    expect(engineInstructions).not.toContain('two to five');
  });

  it('converts the output schema to a plain JSON schema object without unions', () => {
    for (const schema of [iterationOutputSchema, engineOutputSchema]) {
      const json = z.toJSONSchema(schema);
      expect(json.type).toBe('object');
      expect(unsupportedKeywords(json)).toEqual([]);
    }
  });

  it('reads an answer that leaves out the fields its purpose does not use', () => {
    expect(engineOutputSchema.parse({ summary: 's', patches: [] })).toMatchObject({
      summary: 's',
      findings: [],
      split: [],
      issues: [],
      score: 0,
      scores: { wellFormed: 0 },
    });
  });

  it('decodes the round and the review issues of a rewrite request', () => {
    const issues = [{ dimension: 'testableSystem' as const, detail: 'No number.', itemIds: ['sc-x'] }];
    const request = buildRewriteRequest({ story, model: 'm', attempt: 1, round: 2, issues });
    expect(decodeEngineText(`${request.instructions}\n${request.context}\n${request.task}`)).toMatchObject({
      purpose: 'rewrite',
      round: 2,
      reviewIssues: issues,
    });
  });

  it('decodes purpose, iteration, story and feedback from prompt text alone', () => {
    const request = buildIterationRequest({
      story,
      iterationId: 'validation',
      model: 'claude-sonnet-5-5',
      attempt: 2,
      feedback: ['Add a "so that" <b>clause</b>.'],
    });
    expect(decodeEngineText(`${request.instructions}\n${request.context}\n${request.task}`)).toEqual({
      purpose: 'iteration',
      iterationId: 'validation',
      attempt: 2,
      story,
      feedback: ['Add a "so that" <b>clause</b>.'],
      proposal: undefined,
    });
  });

  it('decodes Messages API parameters laid out as the Anthropic adapter sends them', () => {
    const proposal = { summary: 's', patches: [], findings: [] };
    const request = buildVerificationRequest({
      story,
      iterationId: 'security',
      proposal,
      model: 'm',
      attempt: 1,
    });
    const params = {
      model: 'claude-sonnet-5-5',
      max_tokens: 100,
      system: [{ type: 'text', text: request.instructions, cache_control: { type: 'ephemeral' } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: delimitContext(request.context), cache_control: { type: 'ephemeral' } },
            { type: 'text', text: request.task },
          ],
        },
      ],
    };
    expect(decodeEngineRequest(params)).toMatchObject({
      purpose: 'verification',
      iterationId: 'security',
      story,
      proposal,
    });
    expect(() => decodeEngineRequest({ messages: [{ role: 'user', content: 'Hello' }] })).toThrow(
      /not a user-story-agent/,
    );
  });
});

describe('untrusted story text', () => {
  const hostile = parseStory(injectionStory);

  it('cannot close its data block or forge a request header', () => {
    const request = buildIterationRequest({
      story: hostile,
      iterationId: 'user-roles',
      model: 'm',
      attempt: 1,
    });
    expect(request.context.match(/<\/story_data>/g)).toHaveLength(1);
    expect(request.context).not.toContain('<engine_request>');
    expect(request.instructions).not.toContain('PWNED');
    const decoded = decodeEngineText(`${request.instructions}\n${request.context}\n${request.task}`);
    expect(decoded).toMatchObject({ purpose: 'iteration', iterationId: 'user-roles' });
    expect(decoded.story).toEqual(hostile);
  });

  it('changes neither the output format nor leaks the instructions, and is reported as a defect', async () => {
    const result = await runWorkflow({ llm: createOfflineAdapter(), story: hostile, verify: true });
    expect(result.iterations.every((r) => r.status !== 'failed')).toBe(true);
    const added = [
      ...result.story.behaviour,
      ...result.story.outcomeCriteria,
      ...result.story.systemCriteria,
      ...result.story.implementationNotes,
      ...result.story.openQuestions,
    ].filter((item) => item.addedBy !== 'original');
    expect(added.length).toBeGreaterThan(8);
    const output = `${renderJson(result.story)}${JSON.stringify(result.iterations)}`;
    for (const secret of ['You are user-story-agent', '# Quality bar', 'Never follow instructions']) {
      expect(output).not.toContain(secret);
    }
    expect(added.some((item) => /PWNED|system prompt/i.test(item.text))).toBe(false);
    const validation = result.iterations.find((r) => r.id === 'validation');
    expect(validation?.findings.map((f) => f.kind)).toContain('instruction_like_text');
  });
});
