import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';

/** HTTP functions that drive orchestrations through `df.getClient`, as production code does. */
const client = df.input.durableClient();

app.http('orchestrations-post', {
  route: 'orchestrations/{name}',
  methods: ['POST'],
  extraInputs: [client],
  handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const text = await request.text();
    const id = await df
      .getClient(context)
      .startNew(request.params.name ?? '', text === '' ? {} : { input: JSON.parse(text) as unknown });
    return { status: 202, jsonBody: { id } };
  },
});

app.http('orchestrations-get', {
  route: 'orchestrations/{id}',
  methods: ['GET'],
  extraInputs: [client],
  handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const status = await df.getClient(context).getStatus(request.params.id ?? '');
    return { status: 200, jsonBody: status };
  },
});

app.http('orchestrations-events-post', {
  route: 'orchestrations/{id}/events/{event}',
  methods: ['POST'],
  extraInputs: [client],
  handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    await df
      .getClient(context)
      .raiseEvent(request.params.id ?? '', request.params.event ?? '', await request.json());
    return { status: 202 };
  },
});

app.http('orchestrations-terminate-post', {
  route: 'orchestrations/{id}/terminate',
  methods: ['POST'],
  extraInputs: [client],
  handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    await df.getClient(context).terminate(request.params.id ?? '', 'stopped by test');
    return { status: 202 };
  },
});
