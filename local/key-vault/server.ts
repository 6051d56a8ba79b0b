import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

/**
 * A local stand-in for Azure Key Vault's secrets API, the subset `@azure/keyvault-secrets` uses to read and
 * write secrets: `GET /secrets/{name}[/{version}]` and `PUT /secrets/{name}` (a new version each time), with
 * Key Vault's bearer challenge: a request without a token is answered 401 with `WWW-Authenticate: Bearer
 * authorization="...", resource="https://vault.azure.net"`, and the client retries with a token for that
 * resource, which `verifyToken` checks (the local managed-identity endpoint issues them). Plain HTTP, so
 * clients need `allowInsecureConnection` and, because the vault is not on `*.vault.azure.net`,
 * `disableChallengeResourceVerification` (the app's adapter sets both for loopback vaults only).
 */
export const vaultResource = 'https://vault.azure.net';

export interface LocalKeyVaultOptions {
  port?: number;
  host?: string;
  /** Accepts or refuses a bearer token presented for `vaultResource`. */
  verifyToken(token: string, resource: string): Promise<boolean>;
  /** Keeps the secrets in this JSON file across restarts (owner-readable only); in memory when absent. */
  dataFile?: string;
}

/** What the server was asked, for tests that count reads (the cache) and challenges. */
export interface LocalKeyVaultStats {
  challenges: number;
  refused: number;
  reads: Record<string, number>;
  writes: Record<string, number>;
}

export interface LocalKeyVault {
  /** `http://host:port`, the vault URL. */
  url: string;
  /** Versionless identifier of a secret, for `<NAME>_SECRET_URI` settings. */
  secretUri(name: string): string;
  /** Writes a new version of a secret (as `PUT /secrets/{name}` does) and returns its version. */
  setSecret(name: string, value: string): string;
  hasSecret(name: string): boolean;
  stats: LocalKeyVaultStats;
  close(): Promise<void>;
}

const storedVersionSchema = z.object({
  version: z.string(),
  value: z.string(),
  contentType: z.string().optional(),
  created: z.number(),
});
type StoredVersion = z.infer<typeof storedVersionSchema>;
const storeSchema = z.record(z.string(), z.array(storedVersionSchema));

const setSecretBodySchema = z.object({
  value: z.string().max(25_600),
  contentType: z.string().max(255).optional(),
});

const secretNamePattern = /^[0-9A-Za-z-]{1,127}$/;
const maxBodyBytes = 64 * 1024;

export async function startLocalKeyVault(options: LocalKeyVaultOptions): Promise<LocalKeyVault> {
  const host = options.host ?? '127.0.0.1';
  const secrets = new Map<string, StoredVersion[]>(
    options.dataFile && existsSync(options.dataFile)
      ? Object.entries(storeSchema.parse(JSON.parse(readFileSync(options.dataFile, 'utf8'))))
      : [],
  );
  const stats: LocalKeyVaultStats = { challenges: 0, refused: 0, reads: {}, writes: {} };
  let url = '';

  const save = () => {
    if (!options.dataFile) return;
    mkdirSync(path.dirname(options.dataFile), { recursive: true });
    writeFileSync(options.dataFile, JSON.stringify(Object.fromEntries(secrets)), { mode: 0o600 });
  };

  const setSecret = (name: string, value: string, contentType?: string): StoredVersion => {
    const stored: StoredVersion = {
      version: randomUUID().replaceAll('-', ''),
      value,
      created: Math.floor(Date.now() / 1000),
      ...(contentType === undefined ? {} : { contentType }),
    };
    secrets.set(name, [...(secrets.get(name) ?? []), stored]);
    stats.writes[name] = (stats.writes[name] ?? 0) + 1;
    save();
    return stored;
  };

  const bundle = (name: string, stored: StoredVersion) => ({
    value: stored.value,
    id: `${url}/secrets/${name}/${stored.version}`,
    ...(stored.contentType === undefined ? {} : { contentType: stored.contentType }),
    attributes: {
      enabled: true,
      created: stored.created,
      updated: stored.created,
      recoveryLevel: 'Recoverable+Purgeable',
      recoverableDays: 90,
    },
    tags: {},
  });

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, code: string, message: string) =>
    send(res, status, { error: { code, message } });

  const authorized = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token !== undefined && (await options.verifyToken(token, vaultResource))) return true;
    if (token === undefined) stats.challenges += 1;
    else stats.refused += 1;
    send(
      res,
      401,
      { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } },
      { 'www-authenticate': `Bearer authorization="${url}/local-tenant", resource="${vaultResource}"` },
    );
    return false;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestUrl = new URL(req.url ?? '/', url);
    const [collection, name, version, ...rest] = requestUrl.pathname.split('/').filter(Boolean);
    if (collection !== 'secrets' || name === undefined || rest.length > 0 || !secretNamePattern.test(name)) {
      return fail(res, 404, 'NotFound', 'Only /secrets/{name}[/{version}] is served here.');
    }
    const body = await readBody(req);
    if (!(await authorized(req, res))) return;

    if (req.method === 'GET') {
      const versions = secrets.get(name) ?? [];
      const stored =
        version === undefined ? versions.at(-1) : versions.find((item) => item.version === version);
      stats.reads[name] = (stats.reads[name] ?? 0) + 1;
      if (!stored) return fail(res, 404, 'SecretNotFound', `A secret with (name/id) ${name} was not found.`);
      return send(res, 200, bundle(name, stored));
    }
    if (req.method === 'PUT' && version === undefined) {
      let parsed;
      try {
        parsed = setSecretBodySchema.safeParse(JSON.parse(body));
      } catch {
        return fail(res, 400, 'BadParameter', 'The request body is not JSON.');
      }
      if (!parsed.success) return fail(res, 400, 'BadParameter', z.prettifyError(parsed.error));
      return send(res, 200, bundle(name, setSecret(name, parsed.data.value, parsed.data.contentType)));
    }
    return fail(res, 405, 'MethodNotAllowed', `${req.method ?? ''} is not supported on this path.`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) fail(res, 500, 'InternalError', 'The local Key Vault failed.');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  url = `http://${host}:${(server.address() as AddressInfo).port}`;

  return {
    url,
    secretUri: (name) => `${url}/secrets/${name}`,
    setSecret: (name, value) => setSecret(name, value).version,
    hasSecret: (name) => (secrets.get(name)?.length ?? 0) > 0,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBodyBytes) throw new Error('body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
