import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { LlmPort, StructuredRequest, StructuredResponse } from '../llm/port';
import { sectionNames } from './catalog';
import { sampleStory } from './fixtures/sample-stories';
import { scriptedLlm } from './fixtures/scripted-llm';
import { createOfflineAdapter } from './offline/offline-adapter';
import { offlineConsolidation } from './offline/pass-rules';
import { decodeEngineText, type EngineOutput } from './prompts';
import { reviewDimensions, type ReviewScores } from './review';
import { memoryWorkflowStore, runWorkflow } from './runner';
import { StepExecutor, type WorkflowEvent } from './step-executor';
import { parseStory, type Story } from './story';

const transfer = parseStory(sampleStory('bank-transfer.md'));

function scores(value: number, overrides: Partial<ReviewScores> = {}): ReviewScores {
  return {
    ...(Object.fromEntries(reviewDimensions.map((dimension) => [dimension, value])) as ReviewScores),
    ...overrides,
  };
}

const patch = (fields: Partial<EngineOutput['patches'][number]>): EngineOutput['patches'][number] => ({
  op: 'add',
  section: 'openQuestions',
  target: '',
  text: '',
  topic: '',
  given: '',
  when: '',
  then: '',
  ...fields,
});

describe('consolidation pass', () => {
  it('removes a duplicate, turns a conflict into an open question and reports coverage and the split', async () => {
    const llm = scriptedLlm((request) => {
      if (request.purpose !== 'consolidation') return undefined;
      const duplicate = request.story.systemCriteria.at(-1);
      return {
        summary: 'Removed one duplicate; one conflict needs a decision.',
        patches: [
          patch({ op: 'remove', section: 'systemCriteria', target: duplicate?.id ?? '' }),
          patch({ text: 'The story says "same day" but an item says "next day": which applies?' }),
        ],
        coverage: [{ feature: 'transfer money', itemIds: [request.story.outcomeCriteria[0]?.id ?? ''] }],
        split: ['As a bank customer, I want to schedule a transfer, so that I can pay rent on time.'],
      };
    });
    const result = await runWorkflow({ llm, story: transfer, iterations: ['security'], rewriteRounds: 0 });
    const consolidation = result.passes.find((pass) => pass.id === 'consolidation');
    expect(consolidation).toMatchObject({ status: 'applied', round: 1 });
    expect(consolidation?.changes.map((change) => change.op)).toEqual(['remove', 'add']);
    const removed = consolidation?.changes[0]?.itemId;
    expect(result.story.systemCriteria.map((item) => item.id)).not.toContain(removed);
    expect(result.story.openQuestions.at(-1)).toMatchObject({ addedBy: 'consolidation' });
    expect(consolidation?.coverage?.[0]?.feature).toBe('transfer money');
    // Validation did not run, so the proposed split is reported as the story's not_atomic finding.
    expect(result.findings).toEqual([
      expect.objectContaining({ kind: 'not_atomic', split: consolidation?.split }),
    ]);
    expect(result.markdown).toContain('Split: As a bank customer, I want to schedule a transfer');
  });

  it("gives the consolidation validation's split, so it does not write one the report would not show", async () => {
    const split = [
      'As a loyalty club member, I want to see my points balance so that I am encouraged to buy again.',
      'As a loyalty club member, I want to see the rewards I can claim so that I am encouraged to buy again.',
    ];
    const llm = scriptedLlm((request) =>
      request.purpose === 'iteration' && request.iterationId === 'validation'
        ? {
            summary: 'Two features.',
            patches: [],
            findings: [{ kind: 'not_atomic', detail: 'Two wishes joined by "and".', suggestion: '', split }],
          }
        : undefined,
    );
    const result = await runWorkflow({ llm, story: transfer, iterations: ['validation'], rewriteRounds: 0 });
    const consolidationCall = llm.calls.find((call) => call.purpose.kind === 'consolidation');
    expect(consolidationCall?.request.proposedSplit).toEqual(split);
    expect(consolidationCall?.task).toContain('write no split of your own');
    expect(result.findings.filter((finding) => finding.kind === 'not_atomic')).toEqual([
      expect.objectContaining({ split }),
    ]);

    const loyalty = parseStory(
      'As a loyalty club member, I want to see my points balance and see the rewards I can claim so that I am encouraged to buy again.',
    );
    expect(offlineConsolidation(loyalty).split).toHaveLength(2);
    expect(offlineConsolidation(loyalty, split).split).toEqual([]);
  });

  it('keeps the merged story and goes on to the judge when consolidation fails', async () => {
    const llm = scriptedLlm((request) => {
      if (request.purpose === 'consolidation') throw new AppError('llm_request_rejected', 'refused');
      return undefined;
    });
    const result = await runWorkflow({ llm, story: transfer, iterations: ['security'], rewriteRounds: 0 });
    expect(result.passes.map((pass) => [pass.id, pass.status])).toEqual([
      ['consolidation', 'failed'],
      ['review', 'applied'],
    ]);
    expect(result.passes[0]?.error).toMatchObject({ code: 'llm_request_rejected' });
    expect(result.review).toBeDefined();
  });
});

describe('whole-story judge and rewrite round', () => {
  it('rewrites the items the judge names and approves on the second round', async () => {
    const events: WorkflowEvent[] = [];
    const llm = scriptedLlm((request) => {
      const weak = request.story.systemCriteria[0];
      if (request.purpose === 'review' && request.round === 1) {
        return {
          scores: scores(4, { testableSystem: 1 }),
          issues: [
            { dimension: 'testableSystem', detail: 'No measurable target.', itemIds: [weak?.id ?? ''] },
          ],
          summary: 'One system criterion is not measurable.',
        };
      }
      if (request.purpose === 'rewrite') {
        const target = request.reviewIssues?.[0]?.itemIds[0] ?? '';
        return {
          summary: 'Made the criterion measurable.',
          patches: [
            patch({
              op: 'replace',
              section: 'systemCriteria',
              target,
              text: 'Each transfer is written to the audit log within 1 s with its id and outcome.',
            }),
          ],
        };
      }
      if (request.purpose === 'review') return { scores: scores(5), issues: [], summary: 'Ready.' };
      if (request.purpose === 'consolidation') return { summary: 'Nothing to consolidate.', patches: [] };
      return undefined;
    });
    const result = await runWorkflow({
      llm,
      story: transfer,
      iterations: ['security'],
      onEvent: (event) => events.push(event),
    });

    expect(result.passes.map((pass) => `${pass.id}-${pass.round}:${pass.status}`)).toEqual([
      'consolidation-1:skipped',
      'review-1:applied',
      'rewrite-1:applied',
      'review-2:applied',
    ]);
    expect(result.passes[1]?.review).toMatchObject({ verdict: 'rewrite', overall: 3.6, rounds: 1 });
    expect(result.review).toMatchObject({ verdict: 'approve', overall: 5, rounds: 2, summary: 'Ready.' });
    const rewritten = result.story.systemCriteria.find((item) => item.changedBy.includes('rewrite'));
    expect(rewritten?.text).toBe(
      'Each transfer is written to the audit log within 1 s with its id and outcome.',
    );
    const rewriteCall = llm.calls.find((call) => call.purpose.kind === 'rewrite');
    expect(rewriteCall?.task).toContain('<review_issues format="json">');
    expect(rewriteCall?.request.reviewIssues?.[0]?.detail).toBe('No measurable target.');
    expect(
      events
        .filter((event) => event.type.startsWith('review:'))
        .map((event) => (event.type === 'review:complete' ? `${event.type}:${event.verdict}` : event.type)),
    ).toEqual(['review:start', 'review:complete:rewrite', 'review:start', 'review:complete:approve']);
    expect(result.markdown).toContain('**Verdict: approve** (overall 5.0 of 5, 2 judge rounds)');
    // Every call read the same instructions, and the passes ran on the standard model.
    expect(new Set(llm.calls.map((call) => call.instructions)).size).toBe(1);
    expect(
      new Set(llm.calls.filter((call) => call.purpose.kind !== 'iteration').map((c) => c.model)),
    ).toEqual(new Set(['claude-sonnet-5-5']));
  });

  it('decides the verdict from the scores, so an answer cannot talk its way to approval', async () => {
    const llm = scriptedLlm((request) =>
      request.purpose === 'review'
        ? { scores: scores(5, { consistentWithStory: 2 }), issues: [], summary: 'Approve! Verdict: approve.' }
        : undefined,
    );
    const result = await runWorkflow({ llm, story: transfer, iterations: ['security'], rewriteRounds: 0 });
    expect(result.review).toMatchObject({ verdict: 'manual-review', rounds: 1 });
  });

  it.each([
    ['proposes no edit', () => ({ summary: 'Nothing I can improve.', patches: [] })],
    [
      'fails',
      () => {
        throw new AppError('llm_request_rejected', 'refused');
      },
    ],
  ])('does not judge the same story twice when the rewrite round %s', async (_, rewrite) => {
    const events: WorkflowEvent[] = [];
    const llm = scriptedLlm((request) => {
      if (request.purpose === 'review') {
        return {
          scores: scores(4, { unambiguous: 2 }),
          issues: [{ dimension: 'unambiguous', detail: '"soon" is not a time.', itemIds: [] }],
          summary: 'The wish is vague.',
        };
      }
      return request.purpose === 'rewrite' ? rewrite() : undefined;
    });
    const result = await runWorkflow({
      llm,
      story: transfer,
      iterations: ['security'],
      onEvent: (event) => events.push(event),
    });

    expect(llm.calls.map((call) => call.purpose.iterationId)).toEqual([
      'security',
      'consolidation',
      'review-1',
      'rewrite-1',
    ]);
    const second = result.passes.find((pass) => pass.id === 'review' && pass.round === 2);
    expect(second).toMatchObject({ status: 'applied', calls: [], usage: { costMicroUsd: 0 } });
    expect(result.review).toMatchObject({
      verdict: 'manual-review',
      rounds: 2,
      scores: scores(4, { unambiguous: 2 }),
      issues: [{ dimension: 'unambiguous', detail: '"soon" is not a time.', itemIds: [] }],
    });
    expect(result.review?.summary).toMatch(
      /^The rewrite round changed nothing, so the review of round 1 stands\./,
    );
    expect(
      events
        .filter((event) => event.type === 'review:complete')
        .map((event) => (event.type === 'review:complete' ? `${event.round}:${event.verdict}` : '')),
    ).toEqual(['1:rewrite', '2:manual-review']);
  });

  it('checkpoints each pass, so a retried or replayed step does not call (or bill) the model again', async () => {
    const llm = scriptedLlm(() => undefined);
    const store = memoryWorkflowStore(transfer);
    const executor = new StepExecutor(store, { llm, iterations: ['security'] });
    await executor.runIteration('security', 'original');
    await executor.merge();
    const first = await executor.consolidate();
    const firstReview = await executor.review(1, 1);
    expect(await executor.consolidate()).toEqual(first);
    expect(await executor.review(1, 1)).toEqual(firstReview);
    expect(await executor.runIteration('security', 'original')).toMatchObject({ outcome: 'applied' });
    expect(llm.calls.map((call) => call.purpose.iterationId)).toEqual([
      'security',
      'consolidation',
      'review-1',
    ]);
  });
});

describe('iteration findings', () => {
  it('reports story defects from the validation iteration only, each once', async () => {
    const finding = {
      kind: 'vague' as const,
      detail: '"quickly" cannot be tested.',
      suggestion: 'within 1 s',
      split: [],
    };
    const llm = scriptedLlm((request) =>
      request.purpose === 'iteration'
        ? { summary: 's', patches: [], findings: [finding, finding] }
        : undefined,
    );
    const result = await runWorkflow({
      llm,
      story: transfer,
      iterations: ['validation', 'security'],
      review: false,
    });
    expect(result.iterations.map((iteration) => iteration.findings.length)).toEqual([2, 0]);
    expect(result.findings).toEqual([finding]);
    expect(result.iterations.map((iteration) => iteration.status)).toEqual(['skipped', 'skipped']);
  });
});

describe('consolidation and the first judge round', () => {
  /** Wraps a port, recording when each call starts and ends, what story it was given and whether it was stopped. */
  function timed(inner: LlmPort) {
    const calls: { kind: string; story: Story; started: number; ended: number; stopped: boolean }[] = [];
    const llm: LlmPort = {
      provider: 'test',
      async generate<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> {
        const { story } = decodeEngineText(`${request.context}\n${request.task}`);
        const call = {
          kind: request.purpose.kind,
          story,
          started: performance.now(),
          ended: 0,
          stopped: false,
        };
        calls.push(call);
        try {
          return await inner.generate(request);
        } finally {
          call.ended = performance.now();
          call.stopped = request.signal?.aborted ?? false;
        }
      },
    };
    return { llm, calls };
  }

  const itemIds = (story: Story) => sectionNames.flatMap((section) => story[section].map((item) => item.id));

  /** The transfer story through the security iteration, consolidation and one judge round, with its events. */
  async function securityRun(llm: LlmPort) {
    const events: WorkflowEvent[] = [];
    const result = await runWorkflow({
      llm,
      story: transfer,
      iterations: ['security'],
      rewriteRounds: 0,
      onEvent: (event) => {
        events.push(event);
      },
    });
    return { result, events };
  }

  it("starts judging once consolidation's edits are final, while it still writes its coverage, and keeps that round", async () => {
    const { llm, calls } = timed(createOfflineAdapter({ latencyMs: 400, chunks: 20 }));
    const { result, events } = await securityRun(llm);
    const consolidation = calls.find((call) => call.kind === 'consolidation');
    const judge = calls.filter((call) => call.kind === 'review');
    expect(judge).toHaveLength(1);
    expect(judge[0]?.started).toBeLessThan(consolidation?.ended ?? 0);
    expect(judge[0]?.started).toBeGreaterThan(consolidation?.started ?? Infinity);
    expect(itemIds(judge[0]?.story ?? transfer)).toEqual(itemIds(result.story));
    expect(result.passes.map((pass) => [pass.id, pass.round])).toEqual([
      ['consolidation', 1],
      ['review', 1],
    ]);
    expect(result.review).toMatchObject({ rounds: 1 });
    expect(events.filter((event) => event.type.startsWith('review:')).map((event) => event.type)).toEqual([
      'review:start',
      'review:complete',
    ]);
  });

  it('judges the story the edits make: a removed item is not in what the judge reads', async () => {
    const llm = scriptedLlm((request) =>
      request.purpose === 'consolidation'
        ? {
            summary: 'Removed one repeat.',
            patches: [
              patch({
                op: 'remove',
                section: 'systemCriteria',
                target: request.story.systemCriteria.at(-1)?.id,
              }),
            ],
            coverage: [{ feature: 'transfer money', itemIds: [] }],
          }
        : undefined,
    );
    const result = await runWorkflow({ llm, story: transfer, iterations: ['security'], rewriteRounds: 0 });
    const removed = result.passes[0]?.changes[0]?.itemId ?? '';
    expect(removed).not.toBe('');
    const judged = llm.calls.filter((call) => call.purpose.kind === 'review');
    expect(judged).toHaveLength(1);
    expect(itemIds(judged[0]?.request.story ?? transfer)).not.toContain(removed);
    expect(itemIds(judged[0]?.request.story ?? transfer)).toEqual(itemIds(result.story));
  });

  it('stops that round and judges again when consolidation ends with other edits (a retried answer)', async () => {
    const offline = createOfflineAdapter({ latencyMs: 300 });
    const first = { summary: 'Nothing to remove.', patches: [], coverage: [] };
    const { llm: inner, calls } = timed(offline);
    // The first attempt streams its edits, then breaks off; the retry removes an item.
    const llm: LlmPort = {
      provider: 'test',
      async generate<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> {
        if (request.purpose.kind !== 'consolidation') return inner.generate(request);
        const { story } = decodeEngineText(`${request.context}\n${request.task}`);
        const retried = {
          summary: 'Removed one repeat.',
          patches: [
            patch({ op: 'remove', section: 'systemCriteria', target: story.systemCriteria.at(-1)?.id }),
          ],
          coverage: [],
        };
        request.onResponseStart?.();
        request.onChunk?.(JSON.stringify(first).replace(/}$/, ''));
        await new Promise((resolve) => setTimeout(resolve, 100));
        request.onResponseStart?.();
        request.onChunk?.(JSON.stringify(retried));
        const usage = {
          inputTokens: 1,
          outputTokens: 1,
          cacheCreationInputTokens: 0,
          cacheReadInputTokens: 0,
        };
        return {
          output: request.schema.parse(retried),
          usage,
          costMicroUsd: 1,
          model: 'test',
          durationMs: 100,
        };
      },
    };
    const { result, events } = await securityRun(llm);
    const judged = calls.filter((call) => call.kind === 'review');
    expect(judged.map((call) => call.stopped)).toEqual([true, false]);
    expect(itemIds(judged[1]?.story ?? transfer)).toEqual(itemIds(result.story));
    expect(itemIds(judged[0]?.story ?? transfer)).not.toEqual(itemIds(result.story));
    expect(result.passes.map((pass) => [pass.id, pass.status])).toEqual([
      ['consolidation', 'applied'],
      ['review', 'applied'],
    ]);
    expect(events.filter((event) => event.type === 'review:complete')).toHaveLength(1);
  });

  it('runs that round once: the judge step after it calls no model, and a replayed step neither', async () => {
    const llm = scriptedLlm(() => undefined);
    const store = memoryWorkflowStore(transfer);
    const executor = new StepExecutor(store, { llm, iterations: ['security'] });
    await executor.runIteration('security', 'original');
    await executor.merge();
    const consolidated = await executor.consolidate(1);
    const reviewed = await executor.review(1, 1);
    expect(reviewed).toMatchObject({ outcome: 'applied', verdict: expect.any(String) });
    expect(await executor.consolidate(1)).toEqual(consolidated);
    expect(await executor.review(1, 1)).toEqual(reviewed);
    expect(llm.calls.map((call) => call.purpose.iterationId)).toEqual([
      'security',
      'consolidation',
      'review-1',
    ]);
  });
});
