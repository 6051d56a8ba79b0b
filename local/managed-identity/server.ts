import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify, SignJWT } from 'jose';

/**
 * A local managed-identity endpoint speaking the protocol App Service and Azure Functions give their apps:
 * `GET {IDENTITY_ENDPOINT}?resource=...&api-version=2019-08-01` with header `X-IDENTITY-HEADER:
 * {IDENTITY_HEADER}` returns an access token for that resource. `@azure/identity`'s
 * `DefaultAzureCredential` uses it whenever both variables are set, exactly as it does in Azure, so the app
 * keeps one keyless code path and the local Key Vault can check who calls it. Tokens are HS256 JWTs signed
 * with a key that lives only in this process.
 */
export interface LocalManagedIdentity {
  /** Environment for the app: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`. */
  env: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  /** Whether `token` was issued here for `resource`. */
  verify(token: string, resource: string): Promise<boolean>;
  /** Tokens issued so far (each client caches its token until near expiry). */
  tokensIssued(): number;
  close(): Promise<void>;
}

const issuer = 'local-managed-identity';
const tokenLifetimeSeconds = 3_600;

export async function startLocalManagedIdentity(
  options: { port?: number; host?: string } = {},
): Promise<LocalManagedIdentity> {
  const signingKey = randomBytes(32);
  const identityHeader = randomBytes(24).toString('base64url');
  let issued = 0;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const resource = url.searchParams.get('resource');
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' || url.pathname !== '/msi/token') return answer(404, { error: 'not_found' });
    if (req.headers['x-identity-header'] !== identityHeader) {
      return answer(401, {
        error: 'invalid_request',
        error_description: 'X-IDENTITY-HEADER is missing or wrong',
      });
    }
    if (!resource)
      return answer(400, { error: 'invalid_request', error_description: 'resource is required' });
    const expiresOn = Math.floor(Date.now() / 1000) + tokenLifetimeSeconds;
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(issuer)
      .setSubject('local-app')
      .setAudience(resource)
      .setIssuedAt()
      .setExpirationTime(expiresOn)
      .sign(signingKey)
      .then((token) => {
        issued += 1;
        answer(200, {
          access_token: token,
          expires_on: String(expiresOn),
          resource,
          token_type: 'Bearer',
          client_id: 'local-app',
        });
      })
      .catch(() => answer(500, { error: 'server_error' }));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    env: {
      IDENTITY_ENDPOINT: `http://${options.host ?? '127.0.0.1'}:${port}/msi/token`,
      IDENTITY_HEADER: identityHeader,
    },
    async verify(token, resource) {
      try {
        await jwtVerify(token, signingKey, { issuer, audience: resource });
        return true;
      } catch {
        return false;
      }
    },
    tokensIssued: () => issued,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
