import { createHmac } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../local/dev-issuer/dev-issuer';
import { client, startService, type ServiceUnderTest } from '../support/service';

let service: ServiceUnderTest;

beforeAll(async () => {
  service = await startService();
});

afterAll(async () => {
  await service?.stop();
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('authentication over HTTP', () => {
  it('refuses every bad token with 401 unauthenticated and a Bearer challenge', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: service.issuer.url,
      aud: 'user-story-agent',
      sub: 'alice',
      tid: 'acme',
      iat: now,
      exp: now + 600,
    };
    const { privateKey: strangerKey } = await generateKeyPair('ES256');
    const jwks = (await (await fetch(`${service.issuer.url}/.well-known/jwks.json`)).json()) as {
      keys: unknown[];
    };
    const publicKeyText = JSON.stringify(jwks.keys[0]);
    const hsHeader = b64({ alg: 'HS256', typ: 'JWT' });
    const hsPayload = b64(claims);
    const hsSignature = createHmac('sha256', publicKeyText)
      .update(`${hsHeader}.${hsPayload}`)
      .digest('base64url');
    const tokens: Record<string, string> = {
      expired: await mintDevToken({
        issuer: service.issuer.url,
        dataDir: service.issuerDir,
        sub: 'alice',
        tenantId: 'acme',
        now: new Date(Date.now() - 2 * 3600_000),
      }),
      wrongAudience: await mintDevToken({
        issuer: service.issuer.url,
        dataDir: service.issuerDir,
        sub: 'alice',
        tenantId: 'acme',
        audience: 'another-api',
      }),
      wrongIssuer: await mintDevToken({
        issuer: 'https://issuer.invalid',
        dataDir: service.issuerDir,
        sub: 'alice',
        tenantId: 'acme',
      }),
      unknownKid: await new SignJWT({ tid: 'acme' })
        .setProtectedHeader({ alg: 'ES256', kid: 'not-a-published-key' })
        .setIssuer(service.issuer.url)
        .setAudience('user-story-agent')
        .setSubject('alice')
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(strangerKey),
      algNone: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
      hs256WithPublicKey: `${hsHeader}.${hsPayload}.${hsSignature}`,
      garbage: 'not-a-token',
    };
    for (const [name, token] of Object.entries(tokens)) {
      const response = await client(service.url, token).get('/api/v1/jobs');
      expect({ name, status: response.status, code: response.json.code }).toEqual({
        name,
        status: 401,
        code: 'unauthenticated',
      });
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const missing = await client(service.url).get('/api/v1/jobs');
    expect(missing.status).toBe(401);
  });

  it('creates, uses, lists and revokes an API key; the key is shown once and stored only as a hash', async () => {
    const jwt = await service.token({ sub: 'carol', tenantId: 'acme' });
    const signedIn = client(service.url, jwt);
    const created = await signedIn.post('/api/v1/api-keys', { name: 'ci pipeline' });
    expect(created.status).toBe(201);
    const key: string = created.json.key;
    expect(key).toMatch(/^usa_/);
    expect(created.json).not.toHaveProperty('hash');

    const viaKey = client(service.url, key);
    expect((await viaKey.get('/api/v1/jobs')).status).toBe(200);
    const viaHeader = await fetch(`${service.url}/api/v1/jobs`, { headers: { 'x-api-key': key } });
    expect(viaHeader.status).toBe(200);
    // A key cannot mint more keys.
    expect((await viaKey.post('/api/v1/api-keys', { name: 'sneaky' })).status).toBe(403);

    const listed = await signedIn.get('/api/v1/api-keys');
    expect(listed.status).toBe(200);
    expect(listed.json.items).toHaveLength(1);
    expect(JSON.stringify(listed.json)).not.toContain(key.split('_').pop());
    expect(listed.json.items[0]).not.toHaveProperty('hash');

    const revoked = await signedIn.delete(`/api/v1/api-keys/${created.json.keyId}`);
    expect(revoked.status).toBe(200);
    expect(revoked.json.revokedAt).toBeDefined();
    expect((await viaKey.get('/api/v1/jobs')).status).toBe(401);
    // Another user cannot revoke (or see) carol's key.
    const dave = client(service.url, await service.token({ sub: 'dave', tenantId: 'acme' }));
    expect((await dave.delete(`/api/v1/api-keys/${created.json.keyId}`)).status).toBe(404);
  });

  it('refuses an API key expiry in the past', async () => {
    const signedIn = client(service.url, await service.token({ sub: 'carol', tenantId: 'acme' }));
    const response = await signedIn.post('/api/v1/api-keys', {
      name: 'old',
      expiresAt: '2020-01-01T00:00:00Z',
    });
    expect(response.status).toBe(400);
  });
});

describe('OpenAPI document and reference page', () => {
  it('validates as OpenAPI 3.1 and fits OpenWebUI’s tool converter', async () => {
    const response = await fetch(`${service.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, any>>;
    };
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');

    const operations = Object.entries(document.paths).flatMap(([route, item]) =>
      Object.entries(item).map(([method, operation]) => ({ route, method, operation })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(15);
    const operationIds = operations.map(({ operation }) => operation.operationId);
    expect(operationIds.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(operationIds).size).toBe(operationIds.length);
    for (const { operation } of operations) {
      expect(typeof operation.description).toBe('string');
      for (const parameter of operation.parameters ?? []) {
        const values: unknown[] = parameter.schema?.enum ?? [];
        expect(values.every((value) => typeof value === 'string')).toBe(true);
      }
      const body = JSON.stringify(operation.requestBody ?? {});
      expect(body).not.toMatch(/"(oneOf|anyOf|allOf)"/);
    }
    const paths = Object.keys(document.paths);
    for (const route of [
      '/api/v1/jobs',
      '/api/v1/jobs/{jobId}',
      '/api/v1/workflow/run',
      '/api/v1/iterations/run',
      '/api/v1/api-keys',
    ]) {
      expect(paths).toContain(route);
    }
  });

  it('serves an interactive reference page with its assets from the app', async () => {
    const page = await fetch(`${service.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('/openapi.json');
    const asset = await fetch(`${service.url}/docs/assets/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
    expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    expect((await fetch(`${service.url}/docs/assets/..%2Fpackage.json`)).status).toBe(404);
  });

  it('lists the iteration catalog, filtered by product type', async () => {
    const api = client(service.url, await service.token({ sub: 'alice', tenantId: 'acme' }));
    const all = await api.get('/api/v1/iterations');
    expect(all.json.items).toHaveLength(12);
    const forApi = await api.get('/api/v1/iterations?productType=api');
    expect(forApi.json.items.map((item: { id: string }) => item.id)).toEqual(
      expect.arrayContaining([
        'user-roles',
        'validation',
        'performance',
        'security',
        'analytics',
        'locale-formatting',
      ]),
    );
    expect(forApi.json.items.map((item: { id: string }) => item.id)).not.toContain('responsive-web');
  });

  it('answers CORS preflights for configured origins only', async () => {
    const preflight = await fetch(`${service.url}/api/v1/jobs`, {
      method: 'OPTIONS',
      headers: { origin: 'https://chat.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});
