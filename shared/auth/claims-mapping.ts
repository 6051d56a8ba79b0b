import type { JWTPayload } from 'jose';
import { z } from 'zod';
import { AppError } from '../errors';
import { authFailure } from './failures';
import { tenantIdSchema } from '../ids';
import type { IssuerConfig, TenantFromGroups } from './issuer-config';
import type { Principal } from './principal';
import { ALL_USER_SCOPES } from './scopes';

/** What the request adds to a token when the tenant is chosen: the `X-Tenant-Id` header, if sent. */
export interface TenantSelection {
  requestedTenant?: string | undefined;
}

const stringOrStrings = z.union([z.string(), z.array(z.string())]);
const optionalText = z.string().min(1).max(400).optional().catch(undefined);

/** The claim at `path` (dots step into nested objects), or undefined. */
export function readClaim(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A claim that must be a string or a list of strings; absent is empty, anything else `claim_invalid`. */
function stringsClaim(payload: JWTPayload, path: string): string[] {
  const value = readClaim(payload, path);
  if (value === undefined) return [];
  const parsed = stringOrStrings.safeParse(value);
  if (!parsed.success) throw authFailure('claim_invalid', { claim: path });
  return typeof parsed.data === 'string' ? [parsed.data] : parsed.data;
}

/**
 * The tenant claim at `path`. A string that does not fit the tenant id format is refused on its own reason:
 * the id becomes a partition key, a blob path segment and part of admin URLs, so it is never cleaned up into
 * something else (that would be a guess).
 */
function tenantClaim(payload: JWTPayload, path: string): string | undefined {
  const value = readClaim(payload, path);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw authFailure('claim_invalid', { claim: path });
  const parsed = tenantIdSchema.safeParse(value);
  if (!parsed.success) throw authFailure('tenant_id_invalid', { claim: path });
  return parsed.data;
}

/** The tenants the user's groups name; groups that name no (valid) tenant are not tenant groups. */
export function tenantsFromGroups(groups: readonly string[], rule: TenantFromGroups): string[] {
  const tenants = new Set<string>();
  for (const group of groups) {
    const candidate =
      'prefix' in rule
        ? group.startsWith(rule.prefix)
          ? group.slice(rule.prefix.length)
          : undefined
        : Object.hasOwn(rule.map, group)
          ? rule.map[group]
          : undefined;
    if (candidate !== undefined && tenantIdSchema.safeParse(candidate).success) tenants.add(candidate);
  }
  return [...tenants].sort();
}

/** A 403 for a caller whose token is fine but who may not act in the tenant asked for (or must pick one). */
export function tenantRefusal(
  reason: 'tenant_not_member' | 'tenant_selection_required',
  tenants?: readonly string[],
): AppError {
  return reason === 'tenant_not_member'
    ? new AppError('forbidden', 'You do not belong to the tenant named in X-Tenant-Id.', {
        details: { reason },
      })
    : new AppError(
        'forbidden',
        'You belong to several tenants: name the one to act in with the X-Tenant-Id header.',
        { details: { reason, tenants } },
      );
}

/**
 * Picks the tenant among those the token proves membership of: the only one, or the one `X-Tenant-Id`
 * names. Never guesses: several without a selection, or a selection outside them, is refused.
 */
export function selectTenant(candidates: readonly string[], selection: TenantSelection): string {
  const requested = selection.requestedTenant;
  if (requested !== undefined) {
    if (!candidates.includes(requested)) throw tenantRefusal('tenant_not_member');
    return requested;
  }
  if (candidates.length > 1) throw tenantRefusal('tenant_selection_required', candidates);
  const [only] = candidates;
  if (only === undefined) throw authFailure('missing_tenant');
  return only;
}

function tenantOf(payload: JWTPayload, config: IssuerConfig, issuerTenant: string | undefined): string[] {
  if (config.tenantFromGroups !== undefined) {
    const groupsClaim = config.groupsClaim ?? 'groups';
    const tenants = tenantsFromGroups(stringsClaim(payload, groupsClaim), config.tenantFromGroups);
    if (tenants.length === 0) throw authFailure('no_tenant_group', { claim: groupsClaim });
    return tenants;
  }
  const tenant =
    config.tenantClaim === undefined
      ? (tenantClaim(payload, 'tid') ?? tenantClaim(payload, 'tenant_id'))
      : tenantClaim(payload, config.tenantClaim);
  if (tenant === undefined) throw authFailure('missing_tenant');
  // Entra multi-tenant: the issuer names the directory; a token whose tenant claim names another is forged.
  if (issuerTenant !== undefined && tenant.toLowerCase() !== issuerTenant) {
    throw authFailure('issuer_tenant_mismatch');
  }
  return [tenant];
}

/**
 * The principal a verified user token describes under its issuer's claims mapping: `sub` is the user, the
 * tenant comes from the tenant claim or the mapped groups (chosen with `X-Tenant-Id` when several), roles
 * from the roles claim. Refusals carry a precise reason: 401 when the token names no usable tenant, 403
 * when the caller must (or may not) pick the one asked for.
 */
export function principalFromClaims(
  payload: JWTPayload,
  matched: { config: IssuerConfig; issuerTenant?: string | undefined },
  selection: TenantSelection,
): Principal {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub === '') throw authFailure('claim_invalid', { claim: 'sub' });
  const { config } = matched;
  const tenantId = selectTenant(tenantOf(payload, config, matched.issuerTenant), selection);
  const roles =
    config.rolesClaim === undefined
      ? [...stringsClaim(payload, 'roles'), ...stringsClaim(payload, 'role')]
      : stringsClaim(payload, config.rolesClaim);
  const adminTenantIds = z.array(z.string().min(1)).optional().safeParse(payload.tenant_ids);
  if (!adminTenantIds.success) throw authFailure('claim_invalid', { claim: 'tenant_ids' });
  const email = optionalText.parse(payload.email);
  const name = optionalText.parse(payload.name);
  return {
    userId: sub,
    tenantId,
    roles: [...new Set(roles)],
    adminTenantIds: adminTenantIds.data ?? [],
    via: 'jwt',
    scopes: ALL_USER_SCOPES,
    ...(email === undefined ? {} : { email }),
    ...(name === undefined ? {} : { name }),
  };
}
