import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { z } from 'zod';
import { DEV_ISSUER_AUDIENCE } from '../../shared/auth/issuer-config';

/**
 * A local OpenID-style issuer for development and tests. At its root it is the service's own dev issuer (one
 * ES256 key, `tid` claims). Under paths it also plays the identity providers the service is connected to, each
 * with its own key, issuer URL and token shape: OneLogin (`/onelogin/oidc/2`), Keycloak (`/realms/<realm>`),
 * Entra ID v2 multi-tenant (`/<tenant>/v2.0`, one JWKS for every tenant) and GitHub Actions OIDC
 * (`/github-actions`). Keys are generated once per data folder (so tokens survive restarts). The service
 * trusts the root only when `AUTH_DEV_ISSUER_URL` points at it, which config refuses in production; the other
 * shapes only when `AUTH_ISSUERS` or a trust policy names them.
 */

/** The port the local stack runs the issuer on unless told otherwise. */
export const DEFAULT_DEV_ISSUER_PORT = 7079;

/** The identity providers the issuer can imitate; `dev` is its own root issuer. */
export const tokenShapes = ['dev', 'onelogin', 'keycloak', 'entra', 'github-actions'] as const;
export type TokenShape = (typeof tokenShapes)[number];
/** The shapes of other identity providers' tokens. */
export type ProviderShape = Exclude<TokenShape, 'dev'>;

const algorithms: Record<TokenShape, 'ES256' | 'RS256'> = {
  dev: 'ES256',
  onelogin: 'RS256',
  keycloak: 'RS256',
  entra: 'RS256',
  'github-actions': 'RS256',
};

const storedKeySchema = z.union([
  z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), d: z.string() }),
  z.looseObject({ kty: z.literal('RSA'), n: z.string(), e: z.string(), d: z.string() }),
]);

interface DevSigningKey {
  alg: 'ES256' | 'RS256';
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

const privateMembers = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi']);

async function describeKey(privateJwk: JWK, alg: DevSigningKey['alg']): Promise<DevSigningKey> {
  const publicJwk = Object.fromEntries(
    Object.entries(privateJwk).filter(([member]) => !privateMembers.has(member)),
  ) as JWK;
  const kid = await calculateJwkThumbprint(publicJwk);
  return { alg, kid, privateJwk, publicJwk: { ...publicJwk, kid, alg, use: 'sig' } };
}

// The root key keeps its original file name, so data folders from before the other shapes keep their tokens.
const keyFileName = (shape: TokenShape) =>
  shape === 'dev' ? 'signing-key.json' : `signing-key-${shape}.json`;

/** The data folder's signing key for one shape, generated (owner-readable only) on first use. */
async function loadSigningKey(dataDir: string, shape: TokenShape): Promise<DevSigningKey> {
  const file = path.join(dataDir, keyFileName(shape));
  const alg = algorithms[shape];
  try {
    return await describeKey(storedKeySchema.parse(JSON.parse(readFileSync(file, 'utf8'))), alg);
  } catch (error: unknown) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
  }
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const privateJwk = storedKeySchema.parse(await exportJWK(privateKey));
  mkdirSync(dataDir, { recursive: true });
  try {
    // `wx`: when the stack and the token command create the key at the same moment, the first one wins.
    writeFileSync(file, JSON.stringify(privateJwk), { mode: 0o600, flag: 'wx' });
  } catch (error: unknown) {
    if (error instanceof Error && 'code' in error && error.code === 'EEXIST') {
      return loadSigningKey(dataDir, shape);
    }
    throw error;
  }
  return describeKey(privateJwk, alg);
}

async function sign(
  dataDir: string,
  shape: TokenShape,
  claims: Record<string, unknown>,
  lifetime: { now?: Date | undefined; ttlSeconds?: number | undefined },
): Promise<string> {
  const key = await loadSigningKey(dataDir, shape);
  const issuedAt = Math.floor((lifetime.now ?? new Date()).getTime() / 1000);
  return new SignJWT({ iat: issuedAt, exp: issuedAt + (lifetime.ttlSeconds ?? 3600), ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .sign(await importJWK(key.privateJwk, key.alg));
}

/** What a development token says about its holder. */
export interface DevTokenOptions {
  /** The issuer URL the service trusts (`AUTH_DEV_ISSUER_URL`), written into `iss`. */
  issuer: string;
  /** The issuer's data folder, holding its signing key. */
  dataDir: string;
  /** `sub`: the user id. */
  sub: string;
  /** `tid`: the user's tenant. */
  tenantId: string;
  /** `roles`, e.g. `platform_admin` or `tenant_admin`. */
  roles?: string[];
  /** `tenant_ids`: tenants a tenant admin may administer (`*` = all). */
  tenantIds?: string[];
  /** `aud`; defaults to the audience the service accepts from this issuer. */
  audience?: string;
  /** Lifetime in seconds (default one hour). */
  ttlSeconds?: number;
  /** Issue time; defaults to now. */
  now?: Date;
}

/** Signs a development token with the data folder's root key (creating the key if needed). */
export async function mintDevToken(options: DevTokenOptions): Promise<string> {
  return sign(
    options.dataDir,
    'dev',
    {
      iss: options.issuer.replace(/\/+$/, ''),
      aud: options.audience ?? DEV_ISSUER_AUDIENCE,
      sub: options.sub,
      tid: options.tenantId,
      ...(options.roles?.length ? { roles: options.roles } : {}),
      ...(options.tenantIds?.length ? { tenant_ids: options.tenantIds } : {}),
    },
    options,
  );
}

/** Where a shaped token comes from: the issuer's base URL plus the shape's path. */
export interface ShapedIssuerOptions {
  /** Keycloak realm (default `usa`). */
  realm?: string;
  /** Entra directory (tenant) id; required for `entra`. */
  directoryId?: string;
}

/** The issuer URL (`iss`) of a shape, as the real provider would write it but under the dev issuer's base URL. */
export function shapedIssuerUrl(
  shape: TokenShape,
  baseUrl: string,
  options: ShapedIssuerOptions = {},
): string {
  const base = baseUrl.replace(/\/+$/, '');
  switch (shape) {
    case 'dev':
      return base;
    case 'onelogin':
      return `${base}/onelogin/oidc/2`;
    case 'keycloak':
      return `${base}/realms/${options.realm ?? 'usa'}`;
    case 'entra':
      if (options.directoryId === undefined) throw new Error('an Entra token needs a directory id');
      return `${base}/${options.directoryId}/v2.0`;
    case 'github-actions':
      return `${base}/github-actions`;
  }
}

/** Where Entra publishes the keys of every tenant: one JWKS, as `login.microsoftonline.com/common` does. */
export const entraCommonJwksUri = (baseUrl: string) =>
  `${baseUrl.replace(/\/+$/, '')}/common/discovery/v2.0/keys`;

/** A token shaped like one identity provider's. Claims a provider would not send are left out. */
export interface ShapedTokenOptions extends ShapedIssuerOptions {
  /** The dev issuer's base URL (its root issuer URL). */
  baseUrl: string;
  dataDir: string;
  audience: string;
  /** The user (`sub`; Keycloak and Entra also use it for the user name). */
  user?: string;
  email?: string;
  /** OneLogin and Keycloak `groups`. */
  groups?: string[];
  /** Keycloak realm roles (`realm_access.roles`), Entra app roles (`roles`). */
  roles?: string[];
  /** GitHub Actions: `owner/repo`, the ref and the deployment environment. */
  repository?: string;
  ref?: string;
  environment?: string;
  /** Extra claims, or claims to override (e.g. a forged `tid`). */
  claims?: Record<string, unknown>;
  ttlSeconds?: number;
  now?: Date;
}

function shapedClaims(shape: ProviderShape, options: ShapedTokenOptions): Record<string, unknown> {
  const user = options.user ?? 'dev-user';
  const email = options.email ?? `${user}@example.test`;
  const common = { iss: shapedIssuerUrl(shape, options.baseUrl, options), aud: options.audience };
  switch (shape) {
    case 'onelogin':
      return {
        ...common,
        sub: user,
        email,
        name: user,
        preferred_username: email,
        groups: options.groups ?? [],
      };
    case 'keycloak':
      return {
        ...common,
        sub: user,
        typ: 'Bearer',
        azp: options.audience,
        email,
        preferred_username: user,
        groups: options.groups ?? [],
        realm_access: { roles: options.roles ?? [] },
      };
    case 'entra':
      return {
        ...common,
        ver: '2.0',
        sub: user,
        oid: user,
        tid: options.directoryId,
        preferred_username: email,
        name: user,
        ...(options.roles?.length ? { roles: options.roles } : {}),
      };
    case 'github-actions': {
      const repository = options.repository ?? 'octo-org/octo-repo';
      const ref = options.ref ?? 'refs/heads/main';
      const owner = repository.split('/')[0] ?? repository;
      return {
        ...common,
        sub:
          options.environment === undefined
            ? `repo:${repository}:ref:${ref}`
            : `repo:${repository}:environment:${options.environment}`,
        repository,
        repository_owner: owner,
        ref,
        ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
        ...(options.environment === undefined ? {} : { environment: options.environment }),
        workflow: 'ci',
        job_workflow_ref: `${repository}/.github/workflows/ci.yml@${ref}`,
        event_name: 'push',
        actor: user,
        run_id: '1',
        runner_environment: 'github-hosted',
      };
    }
  }
}

/** Signs a token shaped like `shape`'s provider with that shape's key (creating the key if needed). */
export async function mintShapedToken(shape: ProviderShape, options: ShapedTokenOptions): Promise<string> {
  return sign(options.dataDir, shape, { ...shapedClaims(shape, options), ...options.claims }, options);
}

/** A running development issuer. */
export interface DevIssuer {
  /** Its issuer URL (no trailing slash): pass it to the service as `AUTH_DEV_ISSUER_URL`. */
  url: string;
  close(): Promise<void>;
}

function sendJson(response: ServerResponse, body: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
  response.end(JSON.stringify(body));
}

/** Where each shape's discovery document and keys are served, relative to the base URL. */
interface ServedIssuer {
  shape: TokenShape;
  /** Path of the issuer under the base URL ('' for the root). */
  issuerPath: string;
  jwksPath: string;
}

const pathSegment = '[A-Za-z0-9._-]{1,100}';

/** The shape a request path belongs to, and the issuer path it names. */
function servedIssuerFor(pathname: string): ServedIssuer & { rest: string } {
  const routes: [RegExp, (issuerPath: string) => ServedIssuer][] = [
    [
      /^(\/onelogin\/oidc\/2)/,
      (issuerPath) => ({ shape: 'onelogin', issuerPath, jwksPath: `${issuerPath}/certs` }),
    ],
    [
      new RegExp(`^(/realms/${pathSegment})`),
      (issuerPath) => ({
        shape: 'keycloak',
        issuerPath,
        jwksPath: `${issuerPath}/protocol/openid-connect/certs`,
      }),
    ],
    [
      /^(\/github-actions)/,
      (issuerPath) => ({ shape: 'github-actions', issuerPath, jwksPath: `${issuerPath}/.well-known/jwks` }),
    ],
    [
      new RegExp(`^(/${pathSegment}/v2\\.0)`),
      (issuerPath) => ({ shape: 'entra', issuerPath, jwksPath: '/common/discovery/v2.0/keys' }),
    ],
  ];
  for (const [pattern, served] of routes) {
    const issuerPath = pattern.exec(pathname)?.[1];
    if (issuerPath !== undefined) return { ...served(issuerPath), rest: pathname.slice(issuerPath.length) };
  }
  return { shape: 'dev', issuerPath: '', jwksPath: '/.well-known/jwks.json', rest: pathname };
}

/**
 * Serves each shape's `/.well-known/openid-configuration` and JWKS on 127.0.0.1 (port 0 picks a free port).
 * Only public keys are ever served.
 */
export async function startDevIssuer(options: { port?: number; dataDir: string }): Promise<DevIssuer> {
  const keys = new Map<TokenShape, DevSigningKey>();
  for (const shape of tokenShapes) keys.set(shape, await loadSigningKey(options.dataDir, shape));
  const publicKeys = (shape: TokenShape) => ({ keys: [keys.get(shape)?.publicJwk] });
  let url = '';
  const server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', url).pathname;
    const served = servedIssuerFor(pathname);
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
    } else if (pathname === entraCommonJwksUri('')) {
      sendJson(response, publicKeys('entra'));
    } else if (served.rest === '/.well-known/openid-configuration') {
      sendJson(response, {
        issuer: `${url}${served.issuerPath}`,
        jwks_uri: `${url}${served.jwksPath}`,
        id_token_signing_alg_values_supported: [algorithms[served.shape]],
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
      });
    } else if (pathname === served.jwksPath) {
      sendJson(response, publicKeys(served.shape));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_DEV_ISSUER_PORT, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the dev issuer has no TCP address');
  url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Keep-alive connections from the service's fetch would otherwise hold `close` open.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
