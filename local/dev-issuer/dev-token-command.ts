import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEV_ISSUER_AUDIENCE } from '../../shared/auth/issuer-config';
import { DEFAULT_DEV_ISSUER_PORT, mintDevToken, mintShapedToken } from './dev-issuer';

/** A mistake in the command line: reported in one line with exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const devTokenUsage = `Usage: npm run -s dev:token -- [--user ID] [--tenant ID] [--role ROLE]... [--tenant-ids a,b]
       [--audience AUD] [--ttl SECONDS] [--issuer URL] [--data-dir DIR]
       [--shape onelogin|keycloak|entra|github-actions] [--group G]... [--email E] [--realm R]
       [--repository owner/repo] [--ref REF] [--environment ENV]
Prints a token from the local development issuer (the service trusts it when AUTH_DEV_ISSUER_URL is set).
With --shape, the token imitates that provider (issuer URL under the dev issuer, its own key and claims;
--tenant is the Entra directory id); trust it through AUTH_ISSUERS or a trust policy.`;

const shapeSchema = z.enum(['onelogin', 'keycloak', 'entra', 'github-actions']);

const ttlSchema = z.coerce
  .number()
  .int()
  .min(1)
  .max(30 * 24 * 3600);

/**
 * The token for a `dev-token` command line. The issuer URL comes from `--issuer`, else `AUTH_DEV_ISSUER_URL`,
 * else the default local port; the key from `--data-dir`, else `<LOCAL_DATA_DIR>/dev-issuer` in the repo.
 */
export async function devTokenCommand(
  args: string[],
  env: Record<string, string | undefined>,
  repoRoot: string,
): Promise<string> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        user: { type: 'string', default: 'dev-user' },
        tenant: { type: 'string', default: 'dev-tenant' },
        role: { type: 'string', multiple: true, default: [] },
        'tenant-ids': { type: 'string', default: '' },
        audience: { type: 'string', default: DEV_ISSUER_AUDIENCE },
        ttl: { type: 'string', default: '3600' },
        issuer: { type: 'string' },
        'data-dir': { type: 'string' },
        shape: { type: 'string' },
        group: { type: 'string', multiple: true, default: [] },
        email: { type: 'string' },
        realm: { type: 'string' },
        repository: { type: 'string' },
        ref: { type: 'string' },
        environment: { type: 'string' },
      },
    }));
  } catch (error: unknown) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const ttl = ttlSchema.safeParse(values.ttl);
  if (!ttl.success) throw new UsageError('--ttl must be a whole number of seconds from 1 to 2592000');
  if (values.user.trim() === '' || values.tenant.trim() === '') {
    throw new UsageError('--user and --tenant must not be empty');
  }
  const configuredIssuer = env.AUTH_DEV_ISSUER_URL?.trim();
  const issuer = values.issuer ?? (configuredIssuer || `http://127.0.0.1:${DEFAULT_DEV_ISSUER_PORT}`);
  const dataDir =
    values['data-dir'] ?? path.resolve(repoRoot, env.LOCAL_DATA_DIR ?? '.local-data', 'dev-issuer');
  if (values.shape !== undefined) {
    const shape = shapeSchema.safeParse(values.shape);
    if (!shape.success) throw new UsageError(`--shape must be one of ${shapeSchema.options.join(', ')}`);
    return mintShapedToken(shape.data, {
      baseUrl: issuer,
      dataDir,
      audience: values.audience,
      user: values.user,
      email: values.email,
      groups: values.group,
      roles: values.role,
      realm: values.realm,
      directoryId: values.tenant,
      repository: values.repository,
      ref: values.ref,
      environment: values.environment,
      ttlSeconds: ttl.data,
    });
  }
  return mintDevToken({
    issuer,
    dataDir,
    sub: values.user,
    tenantId: values.tenant,
    roles: values.role,
    tenantIds: values['tenant-ids']
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== ''),
    audience: values.audience,
    ttlSeconds: ttl.data,
  });
}
