import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { LlmPort, StructuredRequest, StructuredResponse } from '../llm/port';
import { sampleStory } from './fixtures/sample-stories';
import { createOfflineAdapter } from './offline/offline-adapter';
import { runIteration } from './passes';
import type { MockupFile } from './mockup-inventory';
import { memoryWorkflowStore, runWorkflow } from './runner';
import { cacheRole, memoryCacheGate, StepExecutor } from './step-executor';
import { parseStory } from './story';

const offline = createOfflineAdapter();
const appointment = parseStory(sampleStory('appointment-booking.md'));

interface Recorded {
  kind: string;
  iterationId: string;
  attempt: number;
  model: string;
  task: string;
  context: string;
}

/** Wraps a port, recording every request; `answer` may replace the inner port's answer for some calls. */
function recording(
  inner: LlmPort,
  answer?: (request: StructuredRequest<unknown>) => unknown,
  delayMs?: (request: StructuredRequest<unknown>) => number,
): LlmPort & { calls: Recorded[] } {
  const calls: Recorded[] = [];
  return {
    provider: 'test',
    calls,
    async generate<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> {
      const { kind, iterationId, attempt } = request.purpose;
      calls.push({
        kind,
        iterationId,
        attempt,
        model: request.model,
        task: request.task,
        context: request.context,
      });
      const wait = delayMs?.(request) ?? 0;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const replaced = answer?.(request);
      const response = await inner.generate(request);
      return replaced === undefined ? response : { ...response, output: request.schema.parse(replaced) };
    },
  };
}

describe('runIteration', () => {
  it('retries once with the judge issues as feedback when verification fails', async () => {
    const port = recording(offline, (request) =>
      request.purpose.kind === 'iteration' && request.purpose.attempt === 1
        ? {
            summary: 'weak',
            patches: [
              {
                op: 'add',
                section: 'outcomeCriteria',
                target: '',
                text: 'It works well.',
                topic: '',
                given: '',
                when: '',
                then: '',
              },
            ],
            findings: [],
          }
        : undefined,
    );
    const result = await runIteration({
      llm: port,
      story: appointment,
      iterationId: 'security',
      verify: true,
    });
    expect(port.calls.map((c) => `${c.kind}:${c.attempt}`)).toEqual([
      'iteration:1',
      'verification:1',
      'iteration:2',
      'verification:2',
    ]);
    const retryTask = port.calls[2]?.task ?? '';
    expect(retryTask).toContain('<verification_feedback');
    expect(retryTask).toContain('Only 1 acceptance criteria proposed');
    expect(retryTask).toContain('Not specific to the story');
    expect(result.attempts).toBe(2);
    expect(result.verification).toMatchObject({ passed: true, score: 1 });
    expect(result.changes.map((c) => c.text)).not.toContain('It works well.');
    expect(result.changes.map((c) => c.text).join('\n')).toContain(
      'Reviewer: Only 1 acceptance criteria proposed',
    );
  });

  it('verifies once and keeps the first answer when it passes', async () => {
    const port = recording(offline);
    const result = await runIteration({
      llm: port,
      story: appointment,
      iterationId: 'analytics',
      verify: true,
    });
    expect(port.calls.map((c) => c.kind)).toEqual(['iteration', 'verification']);
    expect(result.verification).toEqual({ score: 1, passed: true, issues: [] });
    expect(result.attempts).toBe(1);
  });

  it('skips an iteration that does not apply to the product type without calling the model', async () => {
    const port = recording(offline);
    const result = await runIteration({ llm: port, story: appointment, iterationId: 'responsive-native' });
    expect(result.status).toBe('skipped');
    expect(port.calls).toEqual([]);
  });

  it('uses current models by default, cheaper ones where they suffice, and honours overrides', async () => {
    const port = recording(offline);
    await runWorkflow({ llm: port, story: appointment, iterations: ['user-roles', 'analytics'] });
    await runWorkflow({
      llm: port,
      story: appointment,
      iterations: ['user-roles', 'analytics'],
      models: { model: 'claude-opus-5-5', perIteration: { analytics: 'claude-haiku-5-5' } },
    });
    const iterationCalls = port.calls.filter((c) => c.kind === 'iteration');
    expect(iterationCalls.map((c) => `${c.iterationId}=${c.model}`)).toEqual([
      'user-roles=claude-sonnet-5-5',
      'analytics=claude-haiku-5-5',
      'user-roles=claude-opus-5-5',
      'analytics=claude-haiku-5-5',
    ]);
  });

  it('reports every call with the cost its adapter priced, and sums usage over iterations and passes', async () => {
    const priced: LlmPort = {
      provider: 'test',
      async generate<T>(request: StructuredRequest<T>) {
        const response = await offline.generate(request);
        return {
          ...response,
          model: 'claude-sonnet-5-5',
          usage: {
            inputTokens: 1_000,
            outputTokens: 500,
            cacheReadInputTokens: 2_000,
            cacheCreationInputTokens: 0,
          },
          costMicroUsd: 7_200,
        };
      },
    };
    const now = () => new Date('2026-11-22T12:00:00Z');
    const { iterations, passes, usage } = await runWorkflow({
      llm: priced,
      story: appointment,
      iterations: ['security', 'validation'],
      rewriteRounds: 0,
      now,
    });
    expect(iterations.map((r) => r.usage.costMicroUsd)).toEqual([7_200, 7_200]);
    expect(iterations[0]?.calls).toEqual([
      expect.objectContaining({
        kind: 'iteration',
        attempt: 1,
        model: 'claude-sonnet-5-5',
        at: '2026-11-22T12:00:00.000Z',
        costMicroUsd: 7_200,
      }),
    ]);
    expect(iterations[0]?.usage.costUsd).toBe(0.0072);
    // Two iterations, the consolidation and one judge round.
    expect(passes.map((pass) => `${pass.id}-${pass.round}`)).toEqual(['consolidation-1', 'review-1']);
    expect(usage).toEqual({
      inputTokens: 4_000,
      outputTokens: 2_000,
      cacheReadInputTokens: 8_000,
      cacheCreationInputTokens: 0,
      costMicroUsd: 28_800,
      costUsd: 0.0288,
    });
  });

  it('reports an LLM failure as a failed result and keeps the other iterations', async () => {
    const flaky: LlmPort = {
      provider: 'test',
      generate<T>(request: StructuredRequest<T>) {
        if (request.purpose.iterationId === 'performance') {
          return Promise.reject(new AppError('upstream_unavailable', 'overloaded'));
        }
        return offline.generate(request);
      },
    };
    const { iterations } = await runWorkflow({
      llm: flaky,
      story: appointment,
      iterations: ['performance', 'security'],
    });
    expect(iterations.map((r) => [r.id, r.status])).toEqual([
      ['performance', 'failed'],
      ['security', 'applied'],
    ]);
    expect(iterations[0]?.error).toEqual({
      code: 'upstream_unavailable',
      message: 'overloaded',
      retryable: true,
    });
  });
});

describe('runWorkflow', () => {
  it('gives the same story in parallel whatever order the calls complete in', async () => {
    const forward = recording(offline, undefined, (r) => (r.purpose.iterationId.length % 5) * 4);
    const backward = recording(offline, undefined, (r) => 20 - (r.purpose.iterationId.length % 5) * 4);
    const a = await runWorkflow({ llm: forward, story: appointment, verify: true });
    const b = await runWorkflow({ llm: backward, story: appointment, verify: true, concurrency: 3 });
    expect(b.story).toEqual(a.story);
    expect(b.markdown).toBe(a.markdown);
    expect(b.iterations.map((r) => r.changes)).toEqual(a.iterations.map((r) => r.changes));
    expect(new Set(forward.calls.filter((c) => c.kind === 'iteration').map((c) => c.context)).size).toBe(1);
  });

  it('runs sequentially on the previous output, asking for approval after each iteration', async () => {
    const port = recording(offline);
    const decisions = ['continue', 'skip', 'stop'] as const;
    const asked: string[] = [];
    const { iterations, story } = await runWorkflow({
      llm: port,
      story: appointment,
      strategy: 'sequential',
      review: false,
      iterations: ['analytics', 'user-roles', 'security', 'validation'],
      approve: ({ result, index }) => {
        asked.push(result.id);
        return Promise.resolve(decisions[index] ?? 'continue');
      },
    });
    expect(asked).toEqual(['user-roles', 'validation', 'security']);
    // Stopped after security: analytics never ran.
    expect(iterations.map((r) => [r.id, r.status])).toEqual([
      ['user-roles', 'applied'],
      ['validation', 'skipped'],
      ['security', 'skipped'],
    ]);
    expect(port.calls[1]?.context).toContain('user-roles');
    expect(new Set(story.outcomeCriteria.map((item) => item.addedBy))).toEqual(new Set(['user-roles']));
  });

  it('reports start, progress and completion of each iteration', async () => {
    const events: string[] = [];
    await runWorkflow({
      llm: offline,
      story: appointment,
      iterations: ['security', 'validation'],
      rewriteRounds: 0,
      onEvent: (event) =>
        events.push(
          `${event.type}:${'iteration' in event ? event.iteration : 'round' in event ? event.round : event.uploadId}`,
        ),
    });
    expect(events.filter((e) => e.startsWith('iteration:start'))).toEqual([
      'iteration:start:validation',
      'iteration:start:security',
    ]);
    expect(events.filter((e) => e.startsWith('iteration:complete'))).toHaveLength(2);
    expect(events).toContain('iteration:progress:security');
    expect(events.filter((e) => e.startsWith('review:'))).toEqual(['review:start:1', 'review:complete:1']);
  });

  it('stops with AppError(cancelled) when aborted while offline calls are in progress', async () => {
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 30);
    await expect(
      runWorkflow({
        llm: createOfflineAdapter({ latencyMs: 10_000 }),
        story: appointment,
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ code: 'cancelled' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('runWorkflow cache warm-up', () => {
  /**
   * Records when each call starts, when its response begins (40 ms later) and when its first text arrives
   * (its 8 chunks are 25 ms apart); `cached`: what `instructionsCached` says.
   */
  function timed(cached = false): LlmPort & { log: string[] } {
    const log: string[] = [];
    const slowText = createOfflineAdapter({ latencyMs: 200 });
    return {
      provider: 'test',
      log,
      instructionsCached: () => cached,
      async generate<T>(request: StructuredRequest<T>) {
        const id = request.purpose.iterationId;
        log.push(`start ${id}`);
        await new Promise((resolve) => setTimeout(resolve, 40));
        return slowText.generate({
          ...request,
          onResponseStart: () => {
            log.push(`begun ${id}`);
            request.onResponseStart?.();
          },
          onChunk: (chunk) => {
            if (!log.includes(`text ${id}`)) log.push(`text ${id}`);
            request.onChunk?.(chunk);
          },
        });
      },
    };
  }

  it('starts one call per model first and the others once its response begins, so they can read its cached prefix', async () => {
    const port = timed();
    await runWorkflow({
      llm: port,
      story: appointment,
      iterations: ['user-roles', 'security', 'analytics', 'locale-formatting'],
    });
    // In catalog order, user-roles leads claude-sonnet-5-5 and locale-formatting leads claude-haiku-5-5.
    expect(port.log.slice(0, 2)).toEqual(['start user-roles', 'start locale-formatting']);
    expect(port.log.indexOf('start security')).toBeGreaterThan(port.log.indexOf('begun user-roles'));
    expect(port.log.indexOf('start analytics')).toBeGreaterThan(port.log.indexOf('begun locale-formatting'));
    // The response has begun, so the prefix is readable: the followers do not wait for its text.
    expect(port.log.indexOf('start security')).toBeLessThan(port.log.indexOf('text user-roles'));
  });

  it('starts every call at once when the client knows the instructions are cached: only the story is left to write', async () => {
    const port = timed(true);
    await runWorkflow({
      llm: port,
      story: appointment,
      iterations: ['user-roles', 'security', 'analytics', 'locale-formatting'],
    });
    expect(port.log.slice(0, 4).sort()).toEqual([
      'start analytics',
      'start locale-formatting',
      'start security',
      'start user-roles',
    ]);
  });

  it('launches every call at once when warm-up is off', async () => {
    const port = timed();
    await runWorkflow({
      llm: port,
      story: appointment,
      iterations: ['user-roles', 'security'],
      warmCache: false,
    });
    expect(port.log.slice(0, 2)).toEqual(['start user-roles', 'start security']);
  });

  it('still runs the followers when the leading call fails before streaming', async () => {
    const failing: LlmPort = {
      provider: 'test',
      generate<T>(request: StructuredRequest<T>) {
        if (request.purpose.iterationId === 'user-roles')
          return Promise.reject(new AppError('upstream_unavailable', 'down'));
        return offline.generate(request);
      },
    };
    const { iterations } = await runWorkflow({
      llm: failing,
      story: appointment,
      iterations: ['user-roles', 'security'],
      concurrency: 1,
    });
    expect(iterations.map((r) => r.status)).toEqual(['failed', 'applied']);
  });
});

describe('in-process cache gate', () => {
  it('lets followers go once the leader opens, after the wait limit without one, or when their run is cancelled', async () => {
    const gate = memoryCacheGate(60_000);
    const follower = gate.ready('claude-sonnet-5-5');
    gate.open('claude-sonnet-5-5');
    await follower;
    // Opened once, open for every later follower on that model.
    await gate.ready('claude-sonnet-5-5');

    // No leader ever opens: the follower stops waiting after the limit rather than hold the run forever.
    let released = false;
    const waiting = memoryCacheGate(30)
      .ready('claude-haiku-5-5')
      .then(() => (released = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(released).toBe(false);
    await waiting;
    expect(released).toBe(true);

    const controller = new AbortController();
    const cancelled = memoryCacheGate(60_000).ready('claude-haiku-5-5', controller.signal);
    controller.abort();
    await cancelled;
  });
});

describe('cache roles', () => {
  it('lets the first iteration that calls a model lead it, skipping iterations the product type excludes', () => {
    // For a mobile-native story responsive-web makes no call, so responsive-native leads the economy model.
    const plan = ['user-roles', 'security', 'responsive-web', 'responsive-native', 'analytics'] as const;
    expect(cacheRole(plan, 'mobile-native', {}, 'responsive-native')).toEqual({
      model: 'claude-haiku-5-5',
      leads: true,
    });
    expect(cacheRole(plan, 'mobile-native', {}, 'analytics')).toEqual({
      model: 'claude-haiku-5-5',
      leads: false,
    });
    expect(cacheRole(plan, 'web', {}, 'responsive-web')).toMatchObject({ leads: true });
    expect(cacheRole(['user-roles', 'analytics'], 'web', {}, 'analytics')).toBeUndefined();
    // An iteration that makes no call neither leads nor waits for the leader.
    expect(cacheRole(plan, 'mobile-native', {}, 'responsive-web')).toBeUndefined();
  });

  it('runs a story whose excluded iteration comes before its model’s leader, one call at a time', async () => {
    const mobile = parseStory(sampleStory('checkout-mobile.md'));
    expect(mobile.productType).toBe('mobile-native');
    const { iterations } = await runWorkflow({
      llm: offline,
      story: mobile,
      iterations: ['responsive-web', 'responsive-native', 'analytics'],
      concurrency: 1,
      review: false,
    });
    expect(iterations.map((result) => [result.id, result.status])).toEqual([
      ['responsive-web', 'skipped'],
      ['responsive-native', 'applied'],
      ['analytics', 'applied'],
    ]);
  });
});

describe('mockups', () => {
  const signIn: MockupFile = {
    id: 'sign-in-svg',
    fileName: 'sign-in.svg',
    contentType: 'image/svg+xml',
    attachment: {
      kind: 'text',
      title: 'sign-in.svg',
      text: '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200"><rect id="email-input" width="200" height="20"/><g id="sign-in-button"><text>Sign in</text></g></svg>',
    },
  };
  const login = parseStory(sampleStory('login-web.md'));

  it('reads each mockup before the iterations and gives every engine call its inventory as context', async () => {
    const port = recording(offline);
    const events: string[] = [];
    const result = await runWorkflow({
      llm: port,
      story: login,
      iterations: ['interactive-elements', 'validation'],
      mockups: [signIn],
      onEvent: (event) => events.push(event.type),
    });
    expect(result.outcome).toBe('completed');
    expect(events.slice(0, 3)).toEqual(['mockup:analyzing', 'mockup:complete', 'iteration:start']);
    expect(port.calls[0]).toMatchObject({ kind: 'mockup', iterationId: 'sign-in-svg' });
    const engineCalls = port.calls.slice(1);
    expect(engineCalls.map((call) => call.kind)).toEqual(
      expect.arrayContaining(['iteration', 'consolidation', 'review']),
    );
    // One identical context (story and inventory) for every iteration, and the inventory for every pass.
    const iterationContexts = new Set(
      engineCalls.filter((call) => call.kind === 'iteration').map((call) => call.context),
    );
    expect(iterationContexts.size).toBe(1);
    for (const call of engineCalls) {
      expect(call.context).toContain('<mockup_inventory format="json">');
      expect(call.context).toContain('sign-in-button');
    }
    expect(result.mockups.map((inventory) => inventory.fileName)).toEqual(['sign-in.svg']);
    // The run's usage counts the mockup call too.
    const steps = [...result.iterations, ...result.passes];
    const stepTokens = steps.reduce((sum, step) => sum + step.usage.outputTokens, 0);
    expect(result.usage.outputTokens).toBeGreaterThan(stepTokens);
  });

  it('refines a story of a backlog with its shared names: every call sees them, the result uses them', async () => {
    const port = recording(offline);
    const story = parseStory(
      'As a shopper, I want to pay for the products in my shopping cart with a saved card, so that checkout is quick.',
    );
    const backlogContext = {
      storyId: 'S3',
      context: {
        actors: [{ name: 'shopper', storyIds: ['S2', 'S3'] }],
        entities: [{ name: 'shopping basket', storyIds: ['S2', 'S3'] }],
        screens: [],
        vocabulary: [{ canonical: 'shopping basket', variants: ['shopping cart'] }],
      },
    };
    const result = await runWorkflow({
      llm: port,
      story,
      iterations: ['user-roles', 'validation', 'security'],
      backlogContext,
    });
    expect(result.outcome).toBe('completed');
    expect(port.calls.length).toBeGreaterThan(3);
    for (const call of port.calls) {
      expect(call.context).toContain('<backlog_context format="json">');
      expect(call.context).toContain('"canonical":"shopping basket"');
    }
    expect(result.story.statement.iWant).toContain('my shopping basket');
    expect(result.story.original).toContain('shopping cart');
    const { statement: _statement, original: _original, ...sections } = result.story;
    expect(JSON.stringify(sections)).not.toMatch(/shopping cart/i);
    expect(result.renames).toEqual([
      { from: 'shopping cart', to: 'shopping basket', items: expect.any(Number) },
    ]);
  });

  it('ends the run before any iteration when a mockup cannot be read', async () => {
    const port = recording(offline, (request) => {
      if (request.purpose.kind === 'mockup') throw new AppError('llm_request_rejected', 'Image too large.');
      return undefined;
    });
    const result = await runWorkflow({
      llm: port,
      story: login,
      iterations: ['validation'],
      mockups: [signIn],
    });
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({ code: 'llm_request_rejected', message: 'Image too large.' });
    expect(port.calls.map((call) => call.kind)).toEqual(['mockup']);
    expect(result.iterations).toEqual([]);
  });

  it('does not read a mockup again once its inventory is stored (a re-run step)', async () => {
    const port = recording(offline);
    const store = memoryWorkflowStore(login);
    const environment = {
      llm: port,
      iterations: ['validation'] as const,
      mockupSource: { read: (id: string) => Promise.resolve(id === signIn.id ? signIn : undefined) },
    };
    expect(await new StepExecutor(store, environment).analyzeMockup(signIn.id)).toEqual({
      uploadId: signIn.id,
      outcome: 'analyzed',
    });
    expect(await new StepExecutor(store, environment).analyzeMockup(signIn.id)).toEqual({
      uploadId: signIn.id,
      outcome: 'analyzed',
    });
    expect(port.calls).toHaveLength(1);
    expect(await new StepExecutor(store, environment).analyzeMockup('gone-png')).toMatchObject({
      uploadId: 'gone-png',
      outcome: 'failed',
      error: { code: 'validation_failed' },
    });
  });
});
