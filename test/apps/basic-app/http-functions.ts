import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { Readable } from 'node:stream';

app.setup({ enableHttpStream: true });

app.http('echo', {
  route: 'things/{id}/echo',
  methods: ['GET', 'POST'],
  handler: async (request: HttpRequest): Promise<HttpResponseInit> => ({
    status: 207,
    headers: { 'x-echo-id': request.params.id ?? '', 'content-type': 'application/json' },
    jsonBody: {
      id: request.params.id,
      method: request.method,
      query: Object.fromEntries(request.query.entries()),
      body: request.method === 'POST' ? await request.text() : null,
      header: request.headers.get('x-test-header'),
    },
  }),
});

app.http('things-current', {
  route: 'things/current/echo',
  methods: ['GET'],
  handler: () => ({ status: 200, jsonBody: { literal: true } }),
});

app.http('stream', {
  route: 'stream',
  methods: ['GET'],
  handler: (): HttpResponseInit => {
    async function* chunks(): AsyncGenerator<string> {
      for (let index = 0; index < 3; index++) {
        yield `chunk-${index}\n`;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
    return { status: 200, headers: { 'content-type': 'text/plain' }, body: Readable.from(chunks()) };
  },
});

app.http('throws', {
  route: 'throws',
  methods: ['GET'],
  handler: () => {
    throw new Error('boom with a secret-looking detail');
  },
});

app.http('hooked', {
  route: 'hooked',
  methods: ['GET'],
  handler: (_request, context) => ({
    status: 200,
    jsonBody: { seenByPreHook: context.extraInputs.get('preHookMark') ?? null },
  }),
});

app.hook.preInvocation((context) => {
  if (context.invocationContext.functionName === 'hooked') {
    context.invocationContext.extraInputs.set('preHookMark', 'pre-hook-ran');
    context.hookData.startedBy = 'pre-hook';
  }
});

app.hook.postInvocation((context) => {
  if (
    context.invocationContext.functionName === 'hooked' &&
    typeof context.result === 'object' &&
    context.result !== null
  ) {
    context.result = { ...context.result, headers: { 'x-post-hook': String(context.hookData.startedBy) } };
  }
});
