import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  entraCommonJwksUri,
  mintShapedToken,
  shapedIssuerUrl,
  type ProviderShape,
  type ShapedTokenOptions,
} from '../../local/dev-issuer/dev-issuer';
import { routes } from '../../shared/api/routes';
import { ALL_USER_SCOPES, type ApiScope } from '../../shared/auth/scopes';
import type { RouteSpec } from '../../shared/http/route';
import {
  client,
  roomyPlanLimits,
  startService,
  type Client,
  type ServiceUnderTest,
} from '../support/service';

const audience = 'api://user-story-agent';
const directory = '5d2c1a52-0000-4000-8000-0000000000e1';

let service: ServiceUnderTest;
let admin: Client;

beforeAll(async () => {
  service = await startService((issuerUrl) => ({
    AUTH_ISSUERS: JSON.stringify([
      {
        issuer: shapedIssuerUrl('onelogin', issuerUrl),
        audience,
        tenantFromGroups: { map: { 'Acme Editors': 'acme', 'Beta Editors': 'beta' } },
      },
      {
        issuer: shapedIssuerUrl('keycloak', issuerUrl, { realm: 'usa' }),
        audience,
        tenantFromGroups: { prefix: '/tenants/' },
        rolesClaim: 'realm_access.roles',
      },
      {
        issuer: `${issuerUrl}/{tenantid}/v2.0`,
        audience,
        jwksUri: entraCommonJwksUri(issuerUrl),
        allowedTenants: [directory],
      },
    ]),
  }));
  admin = client(
    service.url,
    await service.token({ sub: 'root', tenantId: 'ops', roles: ['platform_admin'] }),
  );
});

afterAll(async () => {
  await service?.stop();
});

function shaped(shape: ProviderShape, options: Partial<ShapedTokenOptions>): Promise<string> {
  return mintShapedToken(shape, {
    baseUrl: service.issuer.url,
    dataDir: service.issuerDir,
    audience,
    ...options,
  });
}

describe('identity providers over HTTP', () => {
  it('gives a OneLogin user in two tenant groups the jobs of the tenant X-Tenant-Id names, and refuses a guess', async () => {
    const token = await shaped('onelogin', { user: 'ol-7', groups: ['Acme Editors', 'Beta Editors'] });
    const api = client(service.url, token);
    const created = await api.post(
      '/api/v1/jobs',
      {
        story: 'As a clerk, I want to file a claim so that I am paid.',
        mode: 'individual',
        iterations: ['validation'],
      },
      { 'x-tenant-id': 'beta' },
    );
    expect(created.status).toBe(202);
    expect(created.json).toMatchObject({ tenantId: 'beta', userId: 'ol-7' });

    const ambiguous = await api.get('/api/v1/jobs');
    expect(ambiguous.status).toBe(403);
    expect(ambiguous.json).toMatchObject({
      code: 'forbidden',
      reason: 'tenant_selection_required',
      tenants: ['acme', 'beta'],
    });
    const outsider = await api.get('/api/v1/jobs', { 'x-tenant-id': 'gamma' });
    expect([outsider.status, outsider.json.reason]).toEqual([403, 'tenant_not_member']);
    // The same user in the other tenant sees none of beta's jobs, and beta's job is 404 there.
    const inAcme = await api.get('/api/v1/jobs', { 'x-tenant-id': 'acme' });
    expect(inAcme.json.items).toEqual([]);
    expect((await api.get(`/api/v1/jobs/${created.json.id}`, { 'x-tenant-id': 'acme' })).status).toBe(404);
    expect((await api.get(`/api/v1/jobs/${created.json.id}`, { 'x-tenant-id': 'beta' })).status).toBe(200);
  });

  it('maps a Keycloak tenant admin by group and realm role, who then administers that tenant only', async () => {
    const token = await shaped('keycloak', {
      user: 'kc-admin',
      groups: ['/tenants/acme'],
      roles: ['tenant_admin'],
    });
    const api = client(service.url, token);
    expect((await api.get('/api/v1/admin/tenants/acme/usage')).status).toBe(200);
    expect((await api.get('/api/v1/admin/tenants/beta/usage')).status).toBe(403);
    const noGroup = client(service.url, await shaped('keycloak', { groups: ['/staff'] }));
    const refused = await noGroup.get('/api/v1/jobs');
    expect([refused.status, refused.json.reason]).toEqual([401, 'no_tenant_group']);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  it('accepts an Entra token from an allowed directory and refuses other directories and forged tenants', async () => {
    const allowed = client(service.url, await shaped('entra', { directoryId: directory }));
    expect((await allowed.get('/api/v1/usage')).status).toBe(200);
    const stranger = client(
      service.url,
      await shaped('entra', { directoryId: 'aaaaaaaa-0000-4000-8000-000000000000' }),
    );
    const refused = await stranger.get('/api/v1/usage');
    expect([refused.status, refused.json.reason]).toEqual([401, 'tenant_not_allowed']);
    const forged = client(
      service.url,
      await shaped('entra', {
        directoryId: directory,
        claims: { tid: 'aaaaaaaa-0000-4000-8000-000000000000' },
      }),
    );
    const mismatch = await forged.get('/api/v1/usage');
    expect([mismatch.status, mismatch.json.reason]).toEqual([401, 'issuer_tenant_mismatch']);
  });

  it('refuses a tenant claim that is not a valid tenant id, naming the claim, instead of cleaning it up', async () => {
    for (const [credential, claim] of [
      [await service.token({ sub: 'mallory', tenantId: '../acme' }), 'tid'],
      [await shaped('entra', { directoryId: directory, claims: { tid: `${directory}/x` } }), 'tid'],
    ] as const) {
      const refused = await client(service.url, credential).get('/api/v1/jobs');
      expect(refused.status).toBe(401);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.json).toMatchObject({ code: 'unauthenticated', reason: 'tenant_id_invalid', claim });
    }
  });
});

/** A request to `spec`'s path with placeholder ids, an empty JSON body where it takes one. */
async function call(
  spec: RouteSpec,
  credential: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const path = spec.path.replace(/\{[^}]+\}/g, 'no-such-id');
  const response = await fetch(`${service.url}${path}`, {
    method: spec.method,
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
    ...(spec.body ? { body: '{}' } : {}),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Streams and exports answer text; only refusals matter here, and those are JSON.
  }
  return { status: response.status, body };
}

describe('API key scopes', () => {
  const keys = new Map<string, string>();

  /** A key of user `scoper` in tenant `scoped` holding exactly `scopes`. */
  async function keyWith(scopes: readonly ApiScope[]): Promise<string> {
    const name = scopes.join(' ') || 'none';
    const known = keys.get(name);
    if (known) return known;
    const owner = client(service.url, await service.token({ sub: 'scoper', tenantId: 'scoped' }));
    const created = await owner.post('/api/v1/api-keys', { name, scopes });
    expect(created.status).toBe(201);
    expect(created.json.scopes).toEqual(scopes);
    keys.set(name, created.json.key);
    return created.json.key;
  }

  it('gives a new key every user scope unless it asks for fewer, and refuses unknown or repeated scopes', async () => {
    const owner = client(service.url, await service.token({ sub: 'scoper', tenantId: 'scoped' }));
    const all = await owner.post('/api/v1/api-keys', { name: 'everything' });
    expect(all.json.scopes).toEqual(ALL_USER_SCOPES);
    expect((await owner.post('/api/v1/api-keys', { name: 'x', scopes: ['admin'] })).status).toBe(400);
    expect(
      (await owner.post('/api/v1/api-keys', { name: 'x', scopes: ['jobs:read', 'jobs:read'] })).status,
    ).toBe(400);
    expect((await owner.post('/api/v1/api-keys', { name: 'x', scopes: [] })).status).toBe(400);

    const narrow = await owner.post('/api/v1/api-keys', { name: 'reader', scopes: ['jobs:read'] });
    const trail = await admin.get('/api/v1/admin/audit?tenantId=scoped&action=api_key.created&limit=200');
    const details = (trail.json.items as { target: { id: string }; details: Record<string, unknown> }[]).map(
      (record) => [record.target.id, record.details.scopes],
    );
    expect(details).toEqual(
      expect.arrayContaining([
        [all.json.keyId, ALL_USER_SCOPES.join(' ')],
        [narrow.json.keyId, 'jobs:read'],
      ]),
    );
  });

  const catalog = Object.values(routes) as RouteSpec[];

  it.each(catalog.filter((spec) => spec.auth === 'user').map((spec) => [spec.operationId, spec] as const))(
    '%s: refuses a key without its scope with 403 naming the scope, and lets a key with only that scope through',
    async (_operationId, spec) => {
      if (spec.auth !== 'user') throw new Error('a user route');
      const without = await call(
        spec,
        await keyWith(ALL_USER_SCOPES.filter((scope) => scope !== spec.scope)),
      );
      expect([without.status, without.body.code, without.body.missingScope]).toEqual([
        403,
        'forbidden',
        spec.scope,
      ]);
      const withOnly = await call(spec, await keyWith([spec.scope]));
      expect(withOnly.status).not.toBe(403);
      expect(withOnly.status).not.toBe(401);
    },
  );

  it.each(
    catalog
      .filter((spec) => spec.auth === 'jwt' || spec.auth === 'admin')
      .map((spec) => [spec.operationId, spec] as const),
  )('%s: refuses any API key with 403 user_token_required', async (_operationId, spec) => {
    const refused = await call(spec, await keyWith(ALL_USER_SCOPES));
    expect([refused.status, refused.body.reason]).toEqual([403, 'user_token_required']);
  });

  it('documents each user route’s scope in the OpenAPI security requirement', async () => {
    const document = (await (await fetch(`${service.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId: string; security: Record<string, string[]>[] }>>;
    };
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));
    for (const spec of catalog) {
      const operation = operations.find((candidate) => candidate.operationId === spec.operationId);
      expect(operation?.security).toEqual(
        spec.auth === 'none' ? [] : [{ bearer: spec.auth === 'user' ? [spec.scope] : [] }],
      );
    }
  });
});

describe('plan edits and retirement', () => {
  const limits = { ...roomyPlanLimits, maxIterations: 6, maxConcurrentStreams: 4 };

  it('edits a plan’s name and some limits, and new jobs of its tenants get the new limits', async () => {
    expect((await admin.post('/api/v1/admin/plans', { id: 'team', name: 'Team', limits })).status).toBe(201);
    expect((await admin.patch('/api/v1/admin/tenants/editable/plan', { planId: 'team' })).status).toBe(200);
    const edited = await admin.patch('/api/v1/admin/plans/team', {
      name: 'Team 2',
      limits: { maxIterations: 1 },
    });
    expect(edited.status).toBe(200);
    expect(edited.json).toEqual({ id: 'team', name: 'Team 2', limits: { ...limits, maxIterations: 1 } });
    expect((await admin.get('/api/v1/admin/plans/team')).json).toEqual(edited.json);

    const user = client(service.url, await service.token({ sub: 'eve', tenantId: 'editable' }));
    const tooMany = await user.post('/api/v1/jobs', {
      story: 'As a member, I want to export my data so that I can keep it.',
      mode: 'individual',
      iterations: ['validation', 'security'],
    });
    expect([tooMany.status, tooMany.json.code]).toEqual([413, 'payload_too_large']);
  });

  it('refuses bad edits and callers who are not platform admins', async () => {
    expect((await admin.patch('/api/v1/admin/plans/team', {})).status).toBe(400);
    expect((await admin.patch('/api/v1/admin/plans/team', { limits: { maxIterations: 0 } })).status).toBe(
      400,
    );
    expect((await admin.patch('/api/v1/admin/plans/nope', { name: 'x' })).status).toBe(404);
    const tenantAdmin = client(
      service.url,
      await service.token({ sub: 'ta', tenantId: 'editable', roles: ['tenant_admin'] }),
    );
    expect((await tenantAdmin.patch('/api/v1/admin/plans/team', { name: 'Mine' })).status).toBe(403);
    expect((await tenantAdmin.delete('/api/v1/admin/plans/team')).status).toBe(403);
  });

  it('refuses to retire a plan in use or the default plan, and retires it once no tenant uses it', async () => {
    const inUse = await admin.delete('/api/v1/admin/plans/team');
    expect([inUse.status, inUse.json.code, inUse.json.tenantsOnPlan]).toEqual([409, 'conflict', 1]);
    const defaultPlan = await admin.delete(`/api/v1/admin/plans/${service.env.DEFAULT_PLAN ?? 'enterprise'}`);
    expect(defaultPlan.status).toBe(409);

    expect((await admin.patch('/api/v1/admin/tenants/editable/plan', { planId: 'pro' })).status).toBe(200);
    expect((await admin.delete('/api/v1/admin/plans/team')).status).toBe(204);
    expect((await admin.get('/api/v1/admin/plans/team')).status).toBe(404);
    expect((await admin.delete('/api/v1/admin/plans/team')).status).toBe(404);
    // A retired plan cannot be assigned again.
    expect((await admin.patch('/api/v1/admin/tenants/editable/plan', { planId: 'team' })).status).toBe(404);
  });

  it('records plan edits and retirements, refused ones too, in the platform’s audit trail', async () => {
    const records = (await admin.get('/api/v1/admin/audit?tenantId=_platform&limit=200')).json.items as {
      action: string;
      outcome: string;
      target: { id: string };
      details: Record<string, unknown>;
    }[];
    const team = records
      .filter((record) => record.target.id === 'team')
      .map((r) => `${r.action}:${r.outcome}`);
    expect(team).toEqual(
      expect.arrayContaining(['plan.updated:allowed', 'plan.retired:allowed', 'plan.retired:failed']),
    );
    expect(records.find((record) => record.action === 'plan.updated')?.details).toMatchObject({
      name: 'Team 2',
      maxIterations: 1,
    });
  });
});

describe('GitHub Actions trust policies', () => {
  const ciAudience = 'user-story-agent-ci';
  const githubIssuer = () => shapedIssuerUrl('github-actions', service.issuer.url);
  const policy = (overrides: Record<string, unknown> = {}) => ({
    name: 'app pipeline',
    issuer: githubIssuer(),
    audience: ciAudience,
    claims: { repository: 'octo-org/app', ref: 'refs/heads/main' },
    tenantId: 'ci-tenant',
    scopes: ['jobs:write', 'jobs:read'],
    ...overrides,
  });
  const ciToken = (options: Partial<ShapedTokenOptions> = {}) =>
    shaped('github-actions', {
      audience: ciAudience,
      repository: 'octo-org/app',
      ref: 'refs/heads/main',
      ...options,
    });
  let policyId = '';

  it('lets only platform admins manage policies, and refuses policies that do not pin the owner', async () => {
    const tenantAdmin = client(
      service.url,
      await service.token({ sub: 'ta', tenantId: 'ci-tenant', roles: ['tenant_admin'] }),
    );
    expect((await tenantAdmin.post('/api/v1/admin/trust-policies', policy())).status).toBe(403);
    expect((await tenantAdmin.get('/api/v1/admin/trust-policies')).status).toBe(403);
    const unpinned = await admin.post(
      '/api/v1/admin/trust-policies',
      policy({ claims: { repository: '*/app' } }),
    );
    expect([unpinned.status, unpinned.json.code]).toEqual([400, 'validation_failed']);

    const created = await admin.post('/api/v1/admin/trust-policies', policy());
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ ...policy(), createdBy: 'root' });
    policyId = created.json.id;
    const listed = await admin.get('/api/v1/admin/trust-policies');
    expect(listed.json.items.map((item: { id: string }) => item.id)).toContain(policyId);
  });

  it('lets a matching workflow token act as github:<repository> in the policy’s tenant, within its scopes', async () => {
    const ci = client(service.url, await ciToken());
    const created = await ci.post('/api/v1/jobs', {
      story: 'As a release manager, I want release notes generated so that I save time.',
      mode: 'individual',
      iterations: ['validation'],
    });
    expect(created.status).toBe(202);
    expect(created.json).toMatchObject({ tenantId: 'ci-tenant', userId: 'github:octo-org/app' });
    expect((await ci.get(`/api/v1/jobs/${created.json.id}`)).status).toBe(200);
    const usage = await ci.get('/api/v1/usage');
    expect([usage.status, usage.json.missingScope]).toEqual([403, 'usage:read']);
    // A workload is no signed-in user: no keys, no admin routes.
    expect((await ci.post('/api/v1/api-keys', { name: 'from ci' })).json.reason).toBe('user_token_required');
    expect((await ci.get('/api/v1/admin/plans')).json.reason).toBe('user_token_required');
  });

  it('refuses tokens of other repositories, refs or audiences with their reason', async () => {
    const cases: [string, Partial<ShapedTokenOptions>, string][] = [
      ['another repository', { repository: 'octo-org/other' }, 'no_matching_trust_policy'],
      ['another owner', { repository: 'evil-org/app' }, 'no_matching_trust_policy'],
      ['a feature branch', { ref: 'refs/heads/feature' }, 'no_matching_trust_policy'],
      ['another audience', { audience: 'someone-else' }, 'audience_mismatch'],
    ];
    for (const [name, options, reason] of cases) {
      const refused = await client(service.url, await ciToken(options)).get('/api/v1/jobs');
      expect({ name, status: refused.status, reason: refused.json.reason }).toEqual({
        name,
        status: 401,
        reason,
      });
    }
  });

  it('makes a repository trusted by two tenants pick one with X-Tenant-Id', async () => {
    const second = await admin.post(
      '/api/v1/admin/trust-policies',
      policy({
        name: 'shared',
        claims: { repository_owner: 'octo-org' },
        tenantId: 'ci-other',
        scopes: ['jobs:read'],
      }),
    );
    expect(second.status).toBe(201);
    const ci = client(service.url, await ciToken());
    const ambiguous = await ci.get('/api/v1/jobs');
    expect([ambiguous.status, ambiguous.json.reason, ambiguous.json.tenants]).toEqual([
      403,
      'tenant_selection_required',
      ['ci-other', 'ci-tenant'],
    ]);
    const inOther = await ci.get('/api/v1/jobs', { 'x-tenant-id': 'ci-other' });
    expect([inOther.status, inOther.json.items]).toEqual([200, []]);
    expect((await admin.delete(`/api/v1/admin/trust-policies/${second.json.id}`)).status).toBe(204);
  });

  it('stops trusting the tokens once the policy is deleted', async () => {
    expect((await admin.delete(`/api/v1/admin/trust-policies/${policyId}`)).status).toBe(204);
    const after = await client(service.url, await ciToken()).get('/api/v1/jobs');
    expect([after.status, after.json.reason]).toEqual([401, 'unknown_issuer']);
    expect((await admin.delete(`/api/v1/admin/trust-policies/${policyId}`)).status).toBe(404);
  });

  it('records policy changes in the audit trail of the tenant they open', async () => {
    const records = (await admin.get('/api/v1/admin/audit?tenantId=ci-tenant&limit=200')).json.items as {
      action: string;
      actor: { type: string; id: string };
      target: { id: string };
      details: Record<string, unknown>;
    }[];
    const created = records.find((record) => record.action === 'trust_policy.created');
    expect(created).toMatchObject({
      actor: { type: 'user', id: 'root' },
      target: { id: policyId },
      details: { audience: ciAudience, repository: 'octo-org/app', scopes: 'jobs:write jobs:read' },
    });
    expect(records.some((record) => record.action === 'trust_policy.deleted')).toBe(true);
    // The workload's own actions name it as the actor.
    expect(records.find((record) => record.action === 'job.created')?.actor).toEqual({
      type: 'workload',
      id: 'github:octo-org/app',
      tenantId: 'ci-tenant',
    });
  });
});
