import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatStatusNarrator } from '../../shared/openwebui/chat-status';
import {
  client,
  roomyPlanLimits,
  startService,
  type Client,
  type ServiceUnderTest,
} from '../support/service';
import { readSse } from '../support/sse';

let service: ServiceUnderTest;
let admin: Client;
let tenantAdmin: Client;

const tenant = 'chat-co';
const secretA = 'openwebui-a-forward-user-info-jwt-secret-0001';
const secretB = 'openwebui-b-forward-user-info-jwt-secret-0002';
const story = 'As a shopper, I want to save my basket so that I can buy later.';

beforeAll(async () => {
  service = await startService();
  admin = client(
    service.url,
    await service.token({ sub: 'root', tenantId: 'ops', roles: ['platform_admin'] }),
  );
  tenantAdmin = client(
    service.url,
    await service.token({ sub: 'chat-admin', tenantId: tenant, roles: ['tenant_admin'] }),
  );
  // Two job-creating requests a day per user, so quotas show whose they are.
  const limits = { ...roomyPlanLimits, requestsPerDay: 2 };
  expect((await admin.post('/api/v1/admin/plans', { id: 'chatty', name: 'Chatty', limits })).status).toBe(
    201,
  );
  expect((await admin.patch(`/api/v1/admin/tenants/${tenant}/plan`, { planId: 'chatty' })).status).toBe(200);
});

afterAll(async () => {
  await service?.stop();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A user JWT as OpenWebUI forwards it (HS256, iss open-webui, 300 s), with `claims` overriding any. */
function userJwt(secret: string, claims: JWTPayload = {}): Promise<string> {
  return new SignJWT({
    sub: 'u-ann',
    email: 'ann@chat.test',
    name: 'Ann',
    role: 'user',
    iss: 'open-webui',
    iat: nowSeconds(),
    exp: nowSeconds() + 300,
    ...claims,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

/** Calls the service as OpenWebUI does: the connection key as bearer, plus whatever headers it forwards. */
async function asOpenWebUi(key: string, path: string, headers: Record<string, string>, body?: unknown) {
  const response = await fetch(`${service.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

let keyA = '';
let connectionA = '';
let keyB = '';

describe('OpenWebUI connections', () => {
  it('lets a tenant admin connect an instance: the key is shown once, secrets never', async () => {
    const created = await tenantAdmin.post(`/api/v1/admin/tenants/${tenant}/openwebui`, {
      name: 'Team chat',
      userJwtSecret: secretA,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ tenantId: tenant, name: 'Team chat', postsProgress: false });
    expect(created.json.apiKey).toMatch(/^usa_/);
    expect(created.headers.get('cache-control')).toBe('no-store');
    keyA = created.json.apiKey;
    connectionA = created.json.id;

    const other = await tenantAdmin.post(`/api/v1/admin/tenants/${tenant}/openwebui`, {
      name: 'Other chat',
      userJwtSecret: secretB,
      baseUrl: 'http://127.0.0.1:9/',
      apiKey: 'sk-openwebui-events-key',
    });
    expect(other.json).toMatchObject({ postsProgress: true, baseUrl: 'http://127.0.0.1:9' });
    keyB = other.json.apiKey;

    const listed = await tenantAdmin.get(`/api/v1/admin/tenants/${tenant}/openwebui`);
    expect(listed.status).toBe(200);
    expect(listed.json.items.map((item: { name: string }) => item.name).sort()).toEqual([
      'Other chat',
      'Team chat',
    ]);
    const text = JSON.stringify([created.json, other.json, listed.json]);
    for (const secret of [secretA, secretB, 'sk-openwebui-events-key']) expect(text).not.toContain(secret);
    expect(JSON.stringify(listed.json)).not.toContain(keyA);
  });

  it('refuses other tenants’ admins, plain users, keys and malformed connections', async () => {
    const otherAdmin = client(
      service.url,
      await service.token({ sub: 'x', tenantId: 'elsewhere', roles: ['tenant_admin'] }),
    );
    expect((await otherAdmin.get(`/api/v1/admin/tenants/${tenant}/openwebui`)).status).toBe(403);
    const user = client(service.url, await service.token({ sub: 'plain', tenantId: tenant }));
    expect(
      (await user.post(`/api/v1/admin/tenants/${tenant}/openwebui`, { name: 'x', userJwtSecret: secretA }))
        .status,
    ).toBe(403);
    expect((await client(service.url, keyA).get(`/api/v1/admin/tenants/${tenant}/openwebui`)).status).toBe(
      403,
    );
    for (const body of [
      { name: 'short secret', userJwtSecret: 'too-short' },
      { name: 'events half set', userJwtSecret: secretA, baseUrl: 'https://chat.example.com' },
      {
        name: 'credentials in url',
        userJwtSecret: secretA,
        baseUrl: 'https://u:p@chat.example.com',
        apiKey: 'k',
      },
      { name: 'not http', userJwtSecret: secretA, baseUrl: 'file:///etc/passwd', apiKey: 'k' },
    ]) {
      const refused = await tenantAdmin.post(`/api/v1/admin/tenants/${tenant}/openwebui`, body);
      expect({ name: body.name, status: refused.status }).toEqual({ name: body.name, status: 400 });
    }
  });

  it('acts as the chat user of a valid user JWT, keeping email and name, and as the connection without one', async () => {
    const asAnn = await asOpenWebUi(
      keyA,
      '/api/v1/jobs',
      { 'x-openwebui-user-jwt': await userJwt(secretA) },
      {
        story,
        mode: 'individual',
        iterations: ['validation'],
      },
    );
    expect(asAnn.status).toBe(202);
    expect(asAnn.json.userId).toBe(`openwebui:${connectionA}:u-ann`);
    expect(asAnn.json.requestedBy).toEqual({ email: 'ann@chat.test', name: 'Ann' });

    // Unsigned identity headers are never trusted: this is the connection itself, not "bob".
    const unsigned = await asOpenWebUi(keyA, '/api/v1/jobs', {
      'x-openwebui-user-id': 'u-bob',
      'x-openwebui-user-email': 'bob@chat.test',
      'x-openwebui-user-role': 'admin',
    });
    expect(unsigned.status).toBe(200);
    expect(unsigned.json.items).toEqual([]);
    const asConnection = await asOpenWebUi(
      keyA,
      '/api/v1/jobs',
      {},
      { story, mode: 'individual', iterations: ['validation'] },
    );
    expect(asConnection.json.userId).toBe(`openwebui:${connectionA}`);
  });

  it.each<[string, () => Promise<string>, string]>([
    [
      'expired',
      () => userJwt(secretA, { iat: nowSeconds() - 500, exp: nowSeconds() - 200 }),
      'token_expired',
    ],
    [
      'signed with a wrong secret',
      () => userJwt('not-the-secret-of-any-connection-at-all'),
      'signature_invalid',
    ],
    ['signed with the other connection’s secret', () => userJwt(secretB), 'signature_invalid'],
    [
      'unsigned (alg: none)',
      () => {
        const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
        const claims = { sub: 'u-ann', iss: 'open-webui', iat: nowSeconds(), exp: nowSeconds() + 300 };
        return Promise.resolve(`${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`);
      },
      'algorithm_not_allowed',
    ],
    [
      'tampered with',
      async () => {
        const [header, , signature] = (await userJwt(secretA)).split('.');
        const forged = { sub: 'u-bob', iss: 'open-webui', iat: nowSeconds(), exp: nowSeconds() + 300 };
        return `${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`;
      },
      'signature_invalid',
    ],
    ['living too long', () => userJwt(secretA, { exp: nowSeconds() + 3600 }), 'token_lifetime_too_long'],
  ])(
    'refuses a user JWT %s with 401 and its reason, never falling back to the connection',
    async (_name, make, reason) => {
      const refused = await asOpenWebUi(keyA, '/api/v1/jobs', { 'x-openwebui-user-jwt': await make() });
      expect([refused.status, refused.json.code, refused.json.reason, refused.json.credential]).toEqual([
        401,
        'unauthenticated',
        reason,
        'openwebui_user_jwt',
      ]);
    },
  );

  it('gives two chat users of one connection their own job lists, quotas and usage, and hides their jobs from each other', async () => {
    const ann = { 'x-openwebui-user-jwt': await userJwt(secretB, { sub: 'u-ann2' }) };
    const bob = { 'x-openwebui-user-jwt': await userJwt(secretB, { sub: 'u-bob2', email: 'bob@chat.test' }) };
    const body = { story, mode: 'individual', iterations: ['validation'] };
    const annJob = await asOpenWebUi(keyB, '/api/v1/jobs', ann, body);
    expect(annJob.status).toBe(202);
    expect((await asOpenWebUi(keyB, '/api/v1/jobs', ann, body)).status).toBe(202);
    const annThird = await asOpenWebUi(keyB, '/api/v1/jobs', ann, body);
    expect([annThird.status, annThird.json.code]).toEqual([429, 'quota_exceeded']);
    // Bob's day has just begun, whatever Ann did.
    const bobJob = await asOpenWebUi(keyB, '/api/v1/jobs', bob, body);
    expect(bobJob.status).toBe(202);

    const annList = await asOpenWebUi(keyB, '/api/v1/jobs', ann);
    const bobList = await asOpenWebUi(keyB, '/api/v1/jobs', bob);
    expect(annList.json.items).toHaveLength(2);
    expect(bobList.json.items.map((job: { id: string }) => job.id)).toEqual([bobJob.json.id]);
    expect((await asOpenWebUi(keyB, `/api/v1/jobs/${annJob.json.id}`, bob)).status).toBe(404);
    expect((await asOpenWebUi(keyB, `/api/v1/jobs/${annJob.json.id}`, ann)).status).toBe(200);
    // The connection itself is yet another user: it sees neither.
    expect((await asOpenWebUi(keyB, `/api/v1/jobs/${annJob.json.id}`, {})).status).toBe(404);

    const annUsage = await asOpenWebUi(keyB, '/api/v1/usage', ann);
    const bobUsage = await asOpenWebUi(keyB, '/api/v1/usage', bob);
    expect(annUsage.json.remaining.requestsToday).toBe(0);
    expect(bobUsage.json.remaining.requestsToday).toBe(1);
  });

  it('revokes the key at once when the connection is deleted; another tenant’s connection is 404', async () => {
    const otherAdmin = client(
      service.url,
      await service.token({ sub: 'y', tenantId: 'elsewhere', roles: ['tenant_admin'] }),
    );
    expect((await otherAdmin.delete(`/api/v1/admin/tenants/elsewhere/openwebui/${connectionA}`)).status).toBe(
      404,
    );
    expect(
      (await tenantAdmin.delete(`/api/v1/admin/tenants/${tenant}/openwebui/${connectionA}`)).status,
    ).toBe(204);
    const after = await asOpenWebUi(keyA, '/api/v1/jobs', { 'x-openwebui-user-jwt': await userJwt(secretA) });
    expect([after.status, after.json.reason]).toEqual([401, 'api_key_revoked']);
    expect(
      (await tenantAdmin.delete(`/api/v1/admin/tenants/${tenant}/openwebui/${connectionA}`)).status,
    ).toBe(404);
  });

  it('records connections made and removed in the tenant’s audit trail, without their secrets', async () => {
    const page = await tenantAdmin.get(`/api/v1/admin/audit?limit=200`);
    expect(page.status).toBe(200);
    const records = page.json.items as {
      action: string;
      target: { id: string };
      details: Record<string, unknown>;
    }[];
    const forA = records.filter((record) => record.target.id === connectionA).map((record) => record.action);
    expect(forA).toEqual(
      expect.arrayContaining(['openwebui_connection.created', 'openwebui_connection.deleted']),
    );
    expect(records.find((record) => record.action === 'openwebui_connection.created')?.details).toMatchObject(
      {
        scopes: 'jobs:write jobs:read usage:read uploads:write',
      },
    );
    const text = JSON.stringify(records);
    for (const secret of [secretA, secretB, 'sk-openwebui-events-key', keyA, keyB])
      expect(text).not.toContain(secret);
  });
});

/** A stand-in for OpenWebUI's chat event endpoint on loopback, answering per chat as told. */
interface ReceivedEvent {
  chatId: string;
  messageId: string;
  authorization: string | undefined;
  body: { type: string; data: { description: string; done: boolean } };
}

async function fakeOpenWebUi(behaviour: (chatId: string, attempt: number) => number) {
  const received: ReceivedEvent[] = [];
  const attempts = new Map<string, number>();
  let requests = 0;
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    request.on('end', () => {
      requests += 1;
      const match = /^\/api\/v1\/chats\/([^/]+)\/messages\/([^/]+)\/event$/.exec(request.url ?? '');
      if (request.method !== 'POST' || !match) {
        response.writeHead(404).end();
        return;
      }
      const [, chatId = '', messageId = ''] = match;
      const attemptKey = `${chatId}:${text}`;
      const attempt = (attempts.get(attemptKey) ?? 0) + 1;
      attempts.set(attemptKey, attempt);
      const status = behaviour(chatId, attempt);
      if (status === 200) {
        received.push({
          chatId,
          messageId,
          authorization: request.headers.authorization,
          body: JSON.parse(text),
        });
      }
      response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The chat lines a job's logged events (replayed over SSE, in order) make, as the chat should receive them. */
async function narratedLog(key: string, jwt: string, jobId: string): Promise<string[]> {
  const response = await fetch(`${service.url}/api/v1/jobs/${jobId}/stream?follow=false`, {
    headers: { authorization: `Bearer ${key}`, 'x-openwebui-user-jwt': jwt },
  });
  const narrator = new ChatStatusNarrator();
  const lines: string[] = [];
  for await (const event of readSse(response)) {
    const status = narrator.describe({ event: event.event, data: JSON.parse(event.data) });
    if (status) lines.push(status.description);
  }
  return lines;
}

describe('progress in the OpenWebUI chat', () => {
  const eventsKey = 'sk-openwebui-service-account-key';
  let owui: Awaited<ReturnType<typeof fakeOpenWebUi>>;
  let key = '';
  const secret = 'openwebui-c-forward-user-info-jwt-secret-0003';

  beforeAll(async () => {
    owui = await fakeOpenWebUi((chatId, attempt) =>
      chatId === 'chat-down'
        ? 500
        : chatId === 'chat-refusing'
          ? 401
          : chatId === 'chat-flaky' && attempt === 1
            ? 503
            : 200,
    );
    const created = await tenantAdmin.post(`/api/v1/admin/tenants/${tenant}/openwebui`, {
      name: 'With progress',
      userJwtSecret: secret,
      baseUrl: owui.url,
      apiKey: eventsKey,
    });
    expect(created.status).toBe(201);
    key = created.json.apiKey;
  });

  afterAll(async () => {
    await owui?.close();
  });

  const jwtOf = (sub: string) => userJwt(secret, { sub });
  const run = async (path: string, sub: string, chatId: string | undefined, body: Record<string, unknown>) =>
    asOpenWebUi(
      key,
      path,
      {
        'x-openwebui-user-jwt': await jwtOf(sub),
        ...(chatId === undefined
          ? {}
          : { 'x-openwebui-chat-id': chatId, 'x-openwebui-message-id': `${chatId}-msg` }),
      },
      { story, waitSeconds: 60, ...body },
    );

  it('posts the workflow’s progress to the chat message in order, ending with the cost', async () => {
    const answer = await run('/api/v1/workflow/run', 'u-events-1', 'chat-ok', { productType: 'api' });
    expect(answer.status).toBe(200);
    const lines = owui.received.filter((event) => event.chatId === 'chat-ok');
    expect(lines.every((event) => event.messageId === 'chat-ok-msg')).toBe(true);
    expect(lines.every((event) => event.authorization === `Bearer ${eventsKey}`)).toBe(true);
    expect(lines.every((event) => event.body.type === 'status')).toBe(true);
    const descriptions = lines.map((event) => event.body.data.description);
    // Exactly the job's events, in the order they were logged, each once.
    expect(descriptions).toEqual(await narratedLog(key, await jwtOf('u-events-1'), answer.json.id));
    const iterations: string[] = answer.json.iterations;
    expect(descriptions[0]).toBe(`Starting ${iterations.length} iterations`);
    for (const [index, iteration] of iterations.entries()) {
      expect(descriptions).toContain(`Iteration ${index + 1} of ${iterations.length}: ${iteration}`);
    }
    expect(descriptions.at(-1)).toBe(`Done: $${Number(answer.json.usage.costUsd).toFixed(2)}`);
    expect(lines.map((event) => event.body.data.done)).toEqual([...lines.slice(1).map(() => false), true]);
  });

  it('retries a line OpenWebUI could not take, delivering each exactly once and in order', async () => {
    const answer = await run('/api/v1/iterations/run', 'u-events-2', 'chat-flaky', {
      mode: 'individual',
      iterations: ['validation', 'security'],
    });
    expect(answer.status).toBe(200);
    const delivered = owui.received.filter((event) => event.chatId === 'chat-flaky');
    expect(delivered.map((event) => event.body.data.description)).toEqual(
      await narratedLog(key, await jwtOf('u-events-2'), answer.json.id),
    );
    expect(delivered.map((event) => event.body.data.description)).toEqual(
      expect.arrayContaining([
        'Starting 2 iterations',
        'Iteration 1 of 2: validation',
        'Iteration 2 of 2: security',
      ]),
    );
    // The narrated log of this job: start, both iterations, the judge's round and the cost, each once.
    expect(delivered).toHaveLength(8);
  });

  it('finishes the run when OpenWebUI is down or refuses, with bounded attempts and no secret in the logs', async () => {
    const before = owui.requests();
    const down = await run('/api/v1/iterations/run', 'u-events-3', 'chat-down', {
      mode: 'individual',
      iterations: ['validation'],
    });
    expect([down.status, down.json.status]).toEqual([200, 'completed']);
    // Three tries for each of three lines, then the relay stops.
    expect(owui.requests() - before).toBeLessThanOrEqual(9);

    const beforeRefusal = owui.requests();
    const refused = await run('/api/v1/iterations/run', 'u-events-4', 'chat-refusing', {
      mode: 'individual',
      iterations: ['validation'],
    });
    expect(refused.status).toBe(200);
    expect(owui.requests() - beforeRefusal).toBe(1);
    const logs = service.host.process.output.join('\n');
    expect(logs).toContain('OpenWebUI refused chat status events');
    for (const secretText of [eventsKey, secret, key]) expect(logs).not.toContain(secretText);
  });

  it('posts nothing without the chat and message ids, or through a connection that cannot post', async () => {
    const before = owui.requests();
    expect(
      (
        await run('/api/v1/iterations/run', 'u-events-5', undefined, {
          mode: 'individual',
          iterations: ['validation'],
        })
      ).status,
    ).toBe(200);
    const silent = await tenantAdmin.post(`/api/v1/admin/tenants/${tenant}/openwebui`, {
      name: 'Without progress',
      userJwtSecret: secret,
    });
    const plain = await asOpenWebUi(
      silent.json.apiKey,
      '/api/v1/iterations/run',
      { 'x-openwebui-chat-id': 'chat-ok', 'x-openwebui-message-id': 'other-msg' },
      { story, mode: 'individual', iterations: ['validation'], waitSeconds: 60 },
    );
    expect(plain.status).toBe(200);
    expect(owui.requests()).toBe(before);
  });
});
