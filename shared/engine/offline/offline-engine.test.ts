import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors';
import { applicableIterations } from '../catalog';
import { sampleStories, sampleStory } from '../fixtures/sample-stories';
import { buildIterationRequest } from '../prompts';
import { runWorkflow } from '../runner';
import { parseStory } from '../story';
import { createOfflineAdapter, estimateTokens, offlineModel } from './offline-adapter';

/** Written by hand from each story's statement: its actor, objects and actions. */
const storyWords: Record<string, string[]> = {
  'appointment-booking.md': ['patient', 'appointment', 'book', 'move', 'cancel'],
  'bank-transfer.md': ['bank customer', 'money', 'transfer'],
  'checkout-mobile.md': ['shopper', 'basket', 'pay', 'card', 'checkout'],
  'invoice-export.md': ['accountant', 'invoice', 'export', 'csv', 'pdf'],
  'login-web.md': ['returning customer', 'log in', 'email', 'password'],
  'loyalty-points.md': ['loyalty club member', 'points', 'reward', 'balance'],
  'multi-tenant-admin.md': ['agency administrator', 'invite', 'colleague', 'role', 'workspace'],
  'password-reset.md': ['password', 'reset'],
  'product-search.md': ['visitor', 'catalogue', 'search', 'filter'],
  'profile-photo.md': ['member', 'photo', 'upload'],
  'vague-dashboard.md': ['manager', 'dashboard', 'report', 'users'],
  'webhook-api.md': ['integration partner', 'webhook', 'register', 'order'],
};

const llm = createOfflineAdapter();

describe('offline engine quality bar', () => {
  it('has hand-written story words for every sample story', () => {
    expect(Object.keys(storyWords).sort()).toEqual(sampleStories.map((s) => s.name));
  });

  it.each(sampleStories)(
    'adds at least two story-specific criteria per applicable iteration on $name',
    async ({ name, text }) => {
      const story = parseStory(text);
      const words = storyWords[name] ?? [];
      const { iterations } = await runWorkflow({ llm, story });
      expect(iterations.map((result) => result.id)).toEqual(
        applicableIterations(story.productType).map((d) => d.id),
      );
      for (const result of iterations) {
        const specific = result.changes.filter(
          (change) =>
            (change.section === 'outcomeCriteria' || change.section === 'systemCriteria') &&
            words.some((word) => change.text.toLowerCase().includes(word)),
        );
        expect(specific.length, `${result.id} on ${name}`).toBeGreaterThanOrEqual(2);
        expect(result.status).toBe('applied');
        expect(result.model).toBe(offlineModel);
        expect(result.rejected).toEqual([]);
      }
    },
  );

  it('flags a vague, bundled story without role or benefit', async () => {
    const story = parseStory(sampleStory('vague-dashboard.md'));
    const { iterations, story: enhanced } = await runWorkflow({ llm, story, iterations: ['validation'] });
    const findings = iterations[0]?.findings ?? [];
    expect(new Set(findings.map((f) => f.kind))).toEqual(
      new Set(['missing_role', 'missing_benefit', 'not_atomic', 'vague']),
    );
    const vague = findings.filter((f) => f.kind === 'vague').map((f) => f.detail);
    for (const term of ['fast', 'user-friendly', 'everything'])
      expect(vague.join(' ')).toContain(`"${term}"`);
    const questions = enhanced.openQuestions.map((q) => q.text).join('\n');
    expect(questions).toContain('"fast", "user-friendly" and "everything"');
    expect(questions).toContain('export reports; manage users');
  });

  it('flags the missing benefit of the bank transfer story, and nothing it does not have', async () => {
    const story = parseStory(sampleStory('bank-transfer.md'));
    const { iterations, story: enhanced } = await runWorkflow({ llm, story, iterations: ['validation'] });
    expect((iterations[0]?.findings ?? []).map((f) => f.kind)).toEqual(['missing_benefit']);
    expect(enhanced.openQuestions.map((q) => q.text)).toContain(
      'What benefit does the bank customer get when they transfer money to another account? Add a "so that" clause.',
    );
    expect(enhanced.outcomeCriteria.map((c) => c.text).join('\n')).toMatch(
      /amount to transfer must be greater than zero/,
    );
  });

  it('does not flag a well-formed story as missing its benefit or bundling features', async () => {
    const story = parseStory(sampleStory('login-web.md'));
    const { iterations } = await runWorkflow({ llm, story, iterations: ['validation'] });
    expect((iterations[0]?.findings ?? []).map((f) => f.kind)).toEqual([]);
  });

  it('gives identical stories on repeated runs', async () => {
    const story = parseStory(sampleStory('checkout-mobile.md'));
    const first = await runWorkflow({ llm, story });
    const second = await runWorkflow({ llm, story });
    expect(second.markdown).toBe(first.markdown);
    expect(second.story).toEqual(first.story);
  });
});

describe('offline adapter', () => {
  const story = parseStory(sampleStory('profile-photo.md'));
  const request = (
    extra: { signal?: AbortSignal; onChunk?: (text: string) => void; timeoutMs?: number } = {},
  ) =>
    buildIterationRequest({
      story,
      iterationId: 'security',
      model: 'claude-sonnet-5-5',
      attempt: 1,
      ...extra,
    });

  it('labels its answers with its own model, streams them and estimates usage at four characters a token', async () => {
    const chunks: string[] = [];
    const req = request({ onChunk: (chunk) => chunks.push(chunk) });
    const response = await createOfflineAdapter().generate(req);
    expect(response.model).toBe('user-story-agent-offline-1');
    expect(chunks.length).toBeGreaterThan(1);
    expect(JSON.parse(chunks.join(''))).toEqual(response.output);
    expect(response.usage).toEqual({
      inputTokens: estimateTokens(`${req.instructions}\n\n${req.context}\n\n${req.task}`),
      outputTokens: estimateTokens(chunks.join('')),
      cacheCreationInputTokens: 0,
      cacheReadInputTokens: 0,
    });
  });

  it('takes OFFLINE_LATENCY_MS per call', async () => {
    const started = performance.now();
    await createOfflineAdapter({ latencyMs: 120 }).generate(request());
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
  });

  it('stops at once with AppError(cancelled) when aborted during its latency', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const chunks: string[] = [];
    const call = createOfflineAdapter({ latencyMs: 10_000 }).generate(
      request({ signal: controller.signal, onChunk: (chunk) => chunks.push(chunk) }),
    );
    setTimeout(() => controller.abort(), 30);
    const error: unknown = await call.catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'cancelled' });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(chunks).toEqual([]);
  });

  it('refuses to start when the signal is already aborted', async () => {
    await expect(
      createOfflineAdapter().generate(request({ signal: AbortSignal.abort() })),
    ).rejects.toMatchObject({
      code: 'cancelled',
    });
  });

  it('fails with upstream_timeout when its latency exceeds the call timeout', async () => {
    await expect(
      createOfflineAdapter({ latencyMs: 5_000 }).generate(request({ timeoutMs: 40 })),
    ).rejects.toMatchObject({
      code: 'upstream_timeout',
    });
  });
});

describe('offline engine on hostile input', () => {
  it('parses and enhances a 50 KB story built to make regular expressions backtrack within a second', async () => {
    const text = `As a ${'reset As a user '.repeat(3_000)}`.slice(0, 50_000);
    const started = performance.now();
    const story = parseStory(text);
    const { iterations } = await runWorkflow({ llm, story });
    expect(iterations.every((result) => result.status !== 'failed')).toBe(true);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('offline validation of existing criteria', () => {
  it('rewrites a vague original criterion into a measurable one and records who changed it', async () => {
    const story = parseStory(
      'As a visitor, I want to search products so that I find them.\n\n## Acceptance criteria\n- Search is fast.\n- Results are sorted by relevance.',
    );
    const { story: enhanced, iterations } = await runWorkflow({
      llm,
      story,
      iterations: ['validation'],
      verify: true,
    });
    expect(iterations[0]?.changes).toContainEqual(
      expect.objectContaining({ op: 'replace', previousText: 'Search is fast.' }),
    );
    expect(enhanced.outcomeCriteria[0]).toMatchObject({
      text: 'Search is "fast", measured as: within 2 seconds for 95% of requests.',
      addedBy: 'original',
      changedBy: ['validation'],
    });
    expect(enhanced.outcomeCriteria[1]).toMatchObject({
      text: 'Results are sorted by relevance.',
      changedBy: [],
    });
  });
});
