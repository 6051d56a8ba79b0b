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
  /** The caller's own tenant (`tid`, else `tenant_id`; or the API key's tenant). */
  tenantId: string;
  /** Roles from the `roles`/`role` claims; always empty for API keys, which carry no admin rights. */
  roles: string[];
  /** The `tenant_ids` claim: tenants a tenant admin may administer besides its own (`'*'` = all). */
  adminTenantIds: string[];
  /** Which credential proved the identity; API-key management accepts only `'jwt'`. */
  via: 'jwt' | 'api_key';
  /** The API key's id when `via` is `'api_key'`. */
  keyId?: string;
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
