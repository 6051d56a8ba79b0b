import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectionStory, sampleStory } from '../../shared/engine/fixtures/sample-stories';
import { createOfflineAdapter } from '../../shared/engine/offline/offline-adapter';
import { runWorkflow } from '../../shared/engine/runner';
import { parseStory } from '../../shared/engine/story';
import { createAnthropicAdapter } from '../../shared/llm/anthropic-adapter';
import { offlineResponder } from './offline-responder';
import { startMessagesApiServer, type MessagesApiServer } from './server';

let server: MessagesApiServer;

beforeAll(async () => {
  server = await startMessagesApiServer({ responder: offlineResponder, minCacheableTokens: 256 });
});

afterAll(async () => {
  await server.close();
});

const anthropic = () =>
  createAnthropicAdapter({ apiKey: 'test-key', baseURL: server.url, timeoutMs: 10_000, maxRetries: 0 });

describe('offline responder behind the local Messages API server', () => {
  it('gives the Anthropic adapter the same story the offline adapter produces, priced and cached', async () => {
    const story = parseStory(sampleStory('invoice-export.md'));
    const viaServer = await runWorkflow({ llm: anthropic(), story, verify: true, concurrency: 1 });
    const offline = await runWorkflow({ llm: createOfflineAdapter(), story, verify: true });
    expect(viaServer.markdown).toBe(offline.markdown);
    expect(viaServer.iterations.map((r) => r.model)).not.toContain('user-story-agent-offline-1');
    expect(viaServer.usage.cacheReadInputTokens).toBeGreaterThan(0);
    expect(viaServer.usage.costMicroUsd).toBeGreaterThan(0);
    expect(offline.usage.costMicroUsd).toBe(0);
  });

  it('keeps the output format of a hostile story through the real SDK', async () => {
    const story = parseStory(injectionStory);
    const result = await runWorkflow({ llm: anthropic(), story, iterations: ['validation', 'security'] });
    expect(result.iterations.map((r) => r.status)).toEqual(['applied', 'applied']);
    expect(result.markdown).not.toContain('You are user-story-agent');
    expect(result.iterations[0]?.findings.map((f) => f.kind)).toContain('instruction_like_text');
  });
});
