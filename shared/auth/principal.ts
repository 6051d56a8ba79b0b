import { AppError } from '../errors';
import type { ApiScope } from './scopes';

/** Role that may call every admin route for every tenant. */
export const PLATFORM_ADMIN_ROLE = 'platform_admin';
/** Role that may administer its own tenant and the tenants listed in its `tenant_ids` claim. */
export const TENANT_ADMIN_ROLE = 'tenant_admin';
/** The `tenant_ids` entry meaning every tenant. */
export const ALL_TENANTS = '*';

/** Who is calling, as established by `authenticate`; every tenant-scoped query filters on `tenantId`. */
export interface Principal {
  /** The `sub` claim of a JWT, or the owner of an API key. */
  userId: string;
  /** The tenant the caller acts in (from the token's claims or groups, or the API key's tenant). */
  tenantId: string;
  /** Roles from the token's roles claim; always empty for every other credential, which carries no admin rights. */
  roles: string[];
  /** The `tenant_ids` claim: tenants a tenant admin may administer besides its own (`'*'` = all). */
  adminTenantIds: string[];
  /**
   * Which credential proved the identity: a user's token from a trusted issuer, an API key, an OpenWebUI
   * connection (its key, with or without a chat user's signed JWT) or a CI workload's token under a trust
   * policy. API-key management and admin routes accept only `'jwt'`.
   */
  via: 'jwt' | 'api_key' | 'openwebui' | 'workload';
  /** What the credential may do on user routes (a user's own token: everything). */
  scopes: readonly ApiScope[];
  /** The API key's id, for API keys and OpenWebUI connection keys. */
  keyId?: string;
  /** The user's email and display name, when the credential states them (kept for reports). */
  email?: string;
  name?: string;
  /** The OpenWebUI connection the call came through. */
  connectionId?: string;
  /** The trust policy a CI workload's token matched. */
  trustPolicyId?: string;
}

/** True when the caller holds `platform_admin`, which covers every admin route of every tenant. */
export function isPlatformAdmin(principal: Principal): boolean {
  return principal.roles.includes(PLATFORM_ADMIN_ROLE);
}

/**
 * True when the caller may administer `tenantId`: a platform admin always; a tenant admin for its own tenant
 * and for the tenants in its `tenant_ids` claim (`'*'` = all); anyone else never.
 */
export function canAdministerTenant(principal: Principal, tenantId: string): boolean {
  if (isPlatformAdmin(principal)) return true;
  if (!principal.roles.includes(TENANT_ADMIN_ROLE)) return false;
  return (
    principal.tenantId === tenantId ||
    principal.adminTenantIds.includes(ALL_TENANTS) ||
    principal.adminTenantIds.includes(tenantId)
  );
}

/** Refuses (403) anyone but a platform admin. */
export function requirePlatformAdmin(principal: Principal): void {
  if (!isPlatformAdmin(principal)) throw new AppError('forbidden', 'This operation needs platform_admin.');
}

/** Refuses (403) a caller who may not administer `tenantId` (see {@link canAdministerTenant}). */
export function requireTenantAdmin(principal: Principal, tenantId: string): void {
  if (!canAdministerTenant(principal, tenantId)) {
    throw new AppError('forbidden', `You may not administer tenant ${tenantId}.`);
  }
}
