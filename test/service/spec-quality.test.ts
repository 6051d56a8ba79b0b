import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineResponder } from '../../local/messages-api/offline-responder';
import {
  startMessagesApiServer,
  type MessagesApiServer,
  type Responder,
} from '../../local/messages-api/server';
import { sampleStory } from '../../shared/engine/fixtures/sample-stories';
import { decodeEngineRequest, engineOutputSchema } from '../../shared/engine/prompts';
import { reviewDimensions } from '../../shared/engine/review';
import {
  client,
  finished,
  startService,
  waitForJob,
  type Client,
  type ServiceUnderTest,
} from '../support/service';
import { readSse, terminalSseEvents, type SseEvent } from '../support/sse';

/**
 * A job end to end through the durable runtime and the real Anthropic SDK against the local Messages API
 * (cache minimum 2,048 tokens): iterations, consolidation, the whole-story judge and its rewrite round. The
 * Messages API answers like the offline engine, except the judge: its first round names a weak system
 * criterion (so the verdict is `rewrite`), its second approves. The first round starts during consolidation.
 */

const holdMarker = 'while the judge deliberates';
const rewrittenCriterion = 'Each sign-in attempt is written to the audit log within 1 s with its outcome.';
let releaseHeldJudges: () => void = () => undefined;
const heldJudges = new Promise<void>((resolve) => {
  releaseHeldJudges = resolve;
});
let judgeHeld: () => void = () => undefined;
const judgeStarted = new Promise<void>((resolve) => {
  judgeHeld = resolve;
});

const answer = (fields: Record<string, unknown>) => JSON.stringify(engineOutputSchema.parse(fields));
const scores = (value: number, weak?: string) =>
  Object.fromEntries(reviewDimensions.map((dimension) => [dimension, dimension === weak ? 1 : value]));

const scriptedJudge: Responder = async (params, context) => {
  const request = decodeEngineRequest(params);
  if (request.purpose === 'review' && request.story.original.includes(holdMarker)) {
    judgeHeld();
    await heldJudges;
  }
  if (request.purpose === 'review' && request.round === 1) {
    const weak = request.story.systemCriteria[0];
    return answer({
      scores: scores(4, 'testableSystem'),
      issues: [{ dimension: 'testableSystem', detail: 'Not measurable.', itemIds: weak ? [weak.id] : [] }],
      summary: 'One system criterion is not measurable.',
    });
  }
  if (request.purpose === 'rewrite') {
    const target = request.reviewIssues?.[0]?.itemIds[0] ?? '';
    return answer({
      summary: 'Made it measurable.',
      patches: [
        {
          op: 'replace',
          section: 'systemCriteria',
          target,
          text: rewrittenCriterion,
          topic: '',
          given: '',
          when: '',
          then: '',
        },
      ],
    });
  }
  if (request.purpose === 'review') return answer({ scores: scores(5), issues: [], summary: 'Ready.' });
  return offlineResponder(params, context);
};

let messages: MessagesApiServer;
let service: ServiceUnderTest;
let api: Client;
let token: string;
const story = sampleStory('login-web.md');
const iterations = ['user-roles', 'validation', 'security'];

beforeAll(async () => {
  // Answers stream at 6 ms a token, so a call that starts while another streams shows in their times.
  messages = await startMessagesApiServer({
    responder: scriptedJudge,
    minCacheableTokens: 2_048,
    latency: { baseMs: 0, perOutputTokenMs: 6 },
  });
  service = await startService({
    ANTHROPIC_API_KEY: 'local-test-key',
    ANTHROPIC_BASE_URL: messages.url,
    CACHE_WARM_WAIT_MS: '10000',
  });
  token = await service.token({ sub: 'alice', tenantId: 'acme' });
  api = client(service.url, token);
});

afterAll(async () => {
  releaseHeldJudges();
  await service?.stop();
  await messages?.close();
});

async function events(jobId: string): Promise<SseEvent[]> {
  const response = await fetch(`${service.url}/api/v1/jobs/${jobId}/stream`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const seen: SseEvent[] = [];
  for await (const event of readSse(response)) {
    seen.push(event);
    if (terminalSseEvents.has(event.event)) break;
  }
  return seen;
}

describe('a job with consolidation and the whole-story judge (durable runtime, Anthropic adapter)', () => {
  it('consolidates, judges, takes the rewrite round the judge asks for and approves on the second round', async () => {
    const before = messages.stats.received.length;
    const created = await api.post('/api/v1/jobs', { story, mode: 'individual', iterations });
    expect(created.status).toBe(202);
    const job = await waitForJob(api, created.json.id, finished, 90_000);
    expect(job.status).toBe('completed');

    expect(job.result.review).toMatchObject({ verdict: 'approve', overall: 5, rounds: 2 });
    expect(
      job.result.passes.map((pass: { id: string; round: number }) => `${pass.id}-${pass.round}`),
    ).toEqual(['consolidation-1', 'review-1', 'rewrite-1', 'review-2']);
    expect(job.result.story).toContain(rewrittenCriterion);
    expect(job.result.story).toContain('**Verdict: approve**');
    expect(Array.isArray(job.result.findings)).toBe(true);

    const names = (await events(job.id)).map((event) => `${event.event}${reviewSuffix(event)}`);
    const lastIteration = names.lastIndexOf('iteration:complete');
    expect(names.filter((name) => name === 'iteration:complete')).toHaveLength(3);
    expect(names.slice(lastIteration + 1)).toEqual([
      'review:start#1',
      'review:complete#1:rewrite',
      'review:start#2',
      'review:complete#2:approve',
      'complete',
    ]);

    // The SDK sent every call with the same system prefix and output schema, and all but the first read it.
    const calls = messages.stats.received.slice(before);
    expect(calls.map((call) => call.purpose?.kind)).toEqual([
      'iteration',
      'iteration',
      'iteration',
      'consolidation',
      'review',
      'rewrite',
      'review',
    ]);
    // The first judge round began once consolidation's edits were final, while it still wrote its coverage.
    const [consolidation, firstJudge] = calls.slice(3, 5);
    expect(firstJudge?.arrivedAtMs).toBeGreaterThan(consolidation?.arrivedAtMs ?? Infinity);
    expect(firstJudge?.arrivedAtMs).toBeLessThan(consolidation?.finishedAtMs ?? 0);
    expect(new Set(calls.map((call) => JSON.stringify(call.params.system))).size).toBe(1);
    expect(new Set(calls.map((call) => JSON.stringify(call.params.output_config))).size).toBe(1);
    const [first, ...rest] = calls;
    expect(first?.usage?.cache_creation_input_tokens).toBeGreaterThan(2_048);
    for (const call of rest) expect(call.usage?.cache_read_input_tokens).toBeGreaterThan(2_048);
    expect(job.usage.cacheReadInputTokens).toBeGreaterThan(6 * 2_048);
    expect(job.usage.costUsd).toBeGreaterThan(0);
  });

  it('keeps the finished iterations when the job is cancelled during the judge', async () => {
    const held = `${story.trim()}\n\nThis note arrives ${holdMarker}.`;
    const created = await api.post('/api/v1/jobs', { story: held, mode: 'individual', iterations });
    await judgeStarted;
    const cancelled = await api.delete(`/api/v1/jobs/${created.json.id}`);
    expect(cancelled.status).toBe(202);
    const job = await waitForJob(api, created.json.id, finished, 60_000);
    expect(job.status).toBe('cancelled');
    expect(
      job.result.iterations.map((iteration: { id: string; status: string }) => iteration.status),
    ).toEqual(['applied', 'applied', 'applied']);
    expect(job.result.review).toBeUndefined();
    expect(job.result.story).toContain('## Outcome acceptance criteria');
    const names = (await events(job.id)).map((event) => event.event);
    expect(names.slice(-2)).toEqual(['review:start', 'cancelled']);
  });
});

function reviewSuffix(event: SseEvent): string {
  if (!event.event.startsWith('review:')) return '';
  const data = JSON.parse(event.data) as { round: number; verdict?: string };
  return `#${data.round}${data.verdict ? `:${data.verdict}` : ''}`;
}
