import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../../shared/errors';
import { schemaResponder } from './schema-responder';
import { startMessagesApiServer, type MessagesApiServer, type MessagesApiServerOptions } from './server';

const servers: MessagesApiServer[] = [];

async function start(options: Partial<MessagesApiServerOptions> = {}): Promise<MessagesApiServer> {
  const server = await startMessagesApiServer({
    responder: () =>
      Promise.resolve('{"answer":"forty-two, spelled out in a sentence long enough for chunks"}'),
    minCacheableTokens: 10,
    ...options,
  });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const system = [
  { type: 'text', text: 'Shared instructions. '.repeat(10), cache_control: { type: 'ephemeral' } },
];

function body(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    model: 'claude-sonnet-5-5',
    max_tokens: 500,
    system,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Task.' }] }],
    ...extra,
  });
}

function post(server: MessagesApiServer, payload: string, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'k', ...headers },
    body: payload,
  });
}

const usageSchema = z.object({
  input_tokens: z.number(),
  output_tokens: z.number(),
  cache_creation_input_tokens: z.number(),
  cache_read_input_tokens: z.number(),
});
const messageSchema = z.object({
  type: z.literal('message'),
  content: z.array(z.object({ type: z.literal('text'), text: z.string() })),
  stop_reason: z.string(),
  usage: usageSchema,
});
const errorSchema = z.object({
  type: z.literal('error'),
  error: z.object({ type: z.string(), message: z.string() }),
});

function sseEvents(text: string): { event: string; data: unknown }[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const event = /^event: (.+)$/m.exec(frame)?.[1] ?? '';
      const data: unknown = JSON.parse(/^data: (.+)$/m.exec(frame)?.[1] ?? 'null');
      return { event, data };
    });
}

describe('local Messages API server', () => {
  it('streams the Anthropic SSE event sequence with cumulative usage in message_delta', async () => {
    const server = await start();
    const response = await post(server, body({ stream: true }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = sseEvents(await response.text());
    const names = events.map((entry) => entry.event);
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(names.filter((name) => name === 'content_block_delta').length).toBeGreaterThan(1);
    const delta = z
      .object({ delta: z.object({ stop_reason: z.string() }), usage: usageSchema })
      .parse(events.at(-2)?.data);
    expect(delta.delta.stop_reason).toBe('end_turn');
    expect(delta.usage.output_tokens).toBe(Math.ceil(70 / 4));
    expect(delta.usage.cache_creation_input_tokens).toBeGreaterThan(0);
  });

  it('answers JSON with request-id and rate-limit headers, accepting a Bearer credential', async () => {
    const server = await start();
    const response = await fetch(`${server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      body: body(),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    expect(Number(response.headers.get('anthropic-ratelimit-requests-remaining'))).toBeLessThan(
      Number(response.headers.get('anthropic-ratelimit-requests-limit')),
    );
    expect(response.headers.get('anthropic-ratelimit-output-tokens-reset')).toMatch(/^\d{4}-\d\d-\d\dT/);
    const message = messageSchema.parse(await response.json());
    expect(message.content[0]?.text).toContain('forty-two');
  });

  it('rejects a missing or wrong credential with an authentication_error body', async () => {
    const server = await start({ apiKey: 'right' });
    const missing = await fetch(`${server.url}/v1/messages`, { method: 'POST', body: body() });
    const wrong = await post(server, body(), { 'x-api-key': 'wrong' });
    for (const response of [missing, wrong]) {
      expect(response.status).toBe(401);
      expect(errorSchema.parse(await response.json()).error.type).toBe('authentication_error');
    }
  });

  it('reports cache writes for a new prefix and cache reads for a seen one, per model', async () => {
    const server = await start();
    const first = messageSchema.parse(await (await post(server, body())).json()).usage;
    const second = messageSchema.parse(await (await post(server, body())).json()).usage;
    const otherModel = messageSchema.parse(
      await (await post(server, body({ model: 'claude-haiku-5-5' }))).json(),
    ).usage;
    const prefixTokens = Math.ceil('Shared instructions. '.repeat(10).length / 4);
    expect(first).toMatchObject({ cache_creation_input_tokens: prefixTokens, cache_read_input_tokens: 0 });
    expect(second).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: prefixTokens });
    expect(second.input_tokens).toBe(first.input_tokens);
    expect(otherModel.cache_read_input_tokens).toBe(0);
  });

  it('does not cache a prefix shorter than the minimum, and treats the output schema as part of the prefix', async () => {
    const strict = await start({ minCacheableTokens: 1_024 });
    await post(strict, body());
    const short = messageSchema.parse(await (await post(strict, body())).json()).usage;
    expect(short.cache_creation_input_tokens + short.cache_read_input_tokens).toBe(0);

    const server = await start();
    const format = (name: string) => ({
      output_config: {
        format: { type: 'json_schema', schema: { type: 'object', properties: { [name]: {} } } },
      },
    });
    await post(server, body(format('a')));
    const sameSchema = messageSchema.parse(await (await post(server, body(format('a')))).json()).usage;
    const otherSchema = messageSchema.parse(await (await post(server, body(format('b')))).json()).usage;
    expect(sameSchema.cache_read_input_tokens).toBeGreaterThan(0);
    expect(otherSchema.cache_read_input_tokens).toBe(0);
  });

  it('makes a prefix readable only once the writing response has started', async () => {
    const server = await start({ latency: { baseMs: 100, perOutputTokenMs: 0 } });
    const together = await Promise.all([post(server, body()), post(server, body())]);
    const usages = await Promise.all(
      together.map(async (response) => messageSchema.parse(await response.json()).usage),
    );
    expect(usages.map((usage) => usage.cache_read_input_tokens)).toEqual([0, 0]);
    const later = messageSchema.parse(await (await post(server, body())).json()).usage;
    expect(later.cache_read_input_tokens).toBeGreaterThan(0);
  });

  it('refuses sampling parameters, forced tool use and a fifth cache breakpoint on Sonnet 5.5', async () => {
    const server = await start();
    const breakpoint = { type: 'text', text: 'x', cache_control: { type: 'ephemeral' } };
    const payloads = [
      body({ temperature: 0.2 }),
      body({ tool_choice: { type: 'tool', name: 'emit' } }),
      body({ messages: [{ role: 'user', content: [breakpoint, breakpoint, breakpoint, breakpoint] }] }),
    ];
    for (const payload of payloads) {
      const response = await post(server, payload);
      expect(response.status).toBe(400);
      expect(errorSchema.parse(await response.json()).error.type).toBe('invalid_request_error');
    }
  });

  it('injects queued faults in order, one per request, from the admin route', async () => {
    const server = await start();
    const queued = await fetch(`${server.url}/_admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        faults: [
          { kind: 'rate_limit', retryAfterSeconds: 7 },
          { kind: 'overloaded' },
          { kind: 'spend_limit' },
        ],
      }),
    });
    expect(queued.status).toBe(200);
    const rateLimited = await post(server, body());
    expect(rateLimited.status).toBe(429);
    expect(rateLimited.headers.get('retry-after')).toBe('7');
    const overloaded = await post(server, body());
    expect(overloaded.status).toBe(529);
    expect(errorSchema.parse(await overloaded.json()).error.type).toBe('overloaded_error');
    const spend = await post(server, body());
    expect(spend.status).toBe(429);
    expect(await spend.json()).toMatchObject({
      error: { details: { error_code: 'enforced_spend_limit_reached' } },
    });
    expect((await post(server, body())).status).toBe(200);
    expect(server.stats.byStatus).toEqual({ 200: 1, 429: 2, 529: 1 });
    expect(server.stats.faultsInjected).toBe(3);
  });

  it('applies a fault from the request header to every request carrying it, and rejects a malformed one', async () => {
    const server = await start();
    for (let i = 0; i < 2; i++) {
      const response = await post(server, body(), { 'x-fake-fault': 'server_error' });
      expect(response.status).toBe(500);
    }
    const malformed = await post(server, body(), { 'x-fake-fault': 'rate_limit; retryAfterSeconds' });
    expect(malformed.status).toBe(400);
    const streamed = await post(server, body({ stream: true }), {
      'x-fake-fault': 'mid_stream; afterChunks=1',
    });
    const events = sseEvents(await streamed.text());
    expect(events.map((entry) => entry.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'error',
    ]);
    expect(errorSchema.parse(events.at(-1)?.data).error.type).toBe('overloaded_error');
  });

  it('answers 400 when the responder rejects the request and 500 when it fails', async () => {
    const rejecting = await start({
      responder: () => Promise.reject(new AppError('validation_failed', 'not an engine request')),
    });
    const rejected = await post(rejecting, body());
    expect(rejected.status).toBe(400);
    expect(errorSchema.parse(await rejected.json()).error.message).toBe('not an engine request');
    const failing = await start({ responder: () => Promise.reject(new Error('boom')) });
    const failed = await post(failing, body());
    expect(failed.status).toBe(500);
    expect(errorSchema.parse(await failed.json()).error).toEqual({
      type: 'api_error',
      message: 'The responder failed.',
    });
  });

  it('applies the latency model: base delay plus a delay per output token', async () => {
    const server = await start({ latency: { baseMs: 50, perOutputTokenMs: 4 } });
    const started = performance.now();
    await (await post(server, body())).json();
    // 50 ms + 18 output tokens x 4 ms
    expect(performance.now() - started).toBeGreaterThanOrEqual(115);
  });

  it('closes promptly with a response still in flight', async () => {
    const server = await startMessagesApiServer({
      responder: () => Promise.resolve('{}'),
      latency: { baseMs: 30_000, perOutputTokenMs: 0 },
    });
    const pending = post(server, body()).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('answers structured-output requests with a schema-shaped value from the default responder', async () => {
    const server = await start({ responder: schemaResponder });
    const schema = {
      type: 'object',
      properties: {
        kind: { enum: ['add', 'remove'] },
        items: { type: 'array', items: { $ref: '#/$defs/item' }, minItems: 1 },
        done: { type: 'boolean' },
      },
      required: ['kind', 'items', 'done'],
      additionalProperties: false,
      $defs: { item: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } },
    };
    const response = await post(server, body({ output_config: { format: { type: 'json_schema', schema } } }));
    const message = messageSchema.parse(await response.json());
    const output: unknown = JSON.parse(message.content[0]?.text ?? '');
    const shaped = z
      .strictObject({
        kind: z.literal('add'),
        items: z.array(z.strictObject({ id: z.string() })).length(1),
        done: z.literal(false),
      })
      .safeParse(output);
    expect(shaped.success).toBe(true);
  });
});
