import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { z } from 'zod';
import { DEV_ISSUER_AUDIENCE } from '../../shared/auth/issuer-config';

/**
 * A local OpenID-style issuer for development: it serves a discovery document and a JWKS for one ES256 key
 * that is generated once per data folder (so tokens survive restarts), and mints tokens with that key. The
 * service trusts it only when `AUTH_DEV_ISSUER_URL` points at it, which config refuses in production.
 */

/** The port the local stack runs the issuer on unless told otherwise. */
export const DEFAULT_DEV_ISSUER_PORT = 7079;

const algorithm = 'ES256';
const keyFileName = 'signing-key.json';

const storedKeySchema = z.object({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string().min(1),
  y: z.string().min(1),
  d: z.string().min(1),
});

interface DevSigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

async function describeKey(privateJwk: z.infer<typeof storedKeySchema>): Promise<DevSigningKey> {
  const { d: _private, ...publicJwk } = privateJwk;
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, privateJwk, publicJwk: { ...publicJwk, kid, alg: algorithm, use: 'sig' } };
}

/** The data folder's signing key, generated (owner-readable only) on first use. */
async function loadSigningKey(dataDir: string): Promise<DevSigningKey> {
  const file = path.join(dataDir, keyFileName);
  try {
    return await describeKey(storedKeySchema.parse(JSON.parse(readFileSync(file, 'utf8'))));
  } catch (error: unknown) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
  }
  const { privateKey } = await generateKeyPair(algorithm, { extractable: true });
  const privateJwk = storedKeySchema.parse(await exportJWK(privateKey));
  mkdirSync(dataDir, { recursive: true });
  try {
    // `wx`: when the stack and the token command create the key at the same moment, the first one wins.
    writeFileSync(file, JSON.stringify(privateJwk), { mode: 0o600, flag: 'wx' });
  } catch (error: unknown) {
    if (error instanceof Error && 'code' in error && error.code === 'EEXIST') return loadSigningKey(dataDir);
    throw error;
  }
  return describeKey(privateJwk);
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

/** Signs a development token with the data folder's key (creating the key if needed). */
export async function mintDevToken(options: DevTokenOptions): Promise<string> {
  const key = await loadSigningKey(options.dataDir);
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const claims: Record<string, unknown> = { tid: options.tenantId };
  if (options.roles?.length) claims.roles = options.roles;
  if (options.tenantIds?.length) claims.tenant_ids = options.tenantIds;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: algorithm, kid: key.kid, typ: 'JWT' })
    .setIssuer(options.issuer.replace(/\/+$/, ''))
    .setAudience(options.audience ?? DEV_ISSUER_AUDIENCE)
    .setSubject(options.sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + (options.ttlSeconds ?? 3600))
    .sign(await importJWK(key.privateJwk, algorithm));
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

/**
 * Serves `/.well-known/openid-configuration` and `/.well-known/jwks.json` on 127.0.0.1 (port 0 picks a free
 * port). Only the public key is ever served.
 */
export async function startDevIssuer(options: { port?: number; dataDir: string }): Promise<DevIssuer> {
  const key = await loadSigningKey(options.dataDir);
  let url = '';
  const server = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', url).pathname;
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
    } else if (pathname === '/.well-known/openid-configuration') {
      sendJson(response, {
        issuer: url,
        jwks_uri: `${url}/.well-known/jwks.json`,
        id_token_signing_alg_values_supported: [algorithm],
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
      });
    } else if (pathname === '/.well-known/jwks.json') {
      sendJson(response, { keys: [key.publicJwk] });
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
