import { describe, expect, it } from 'vitest';
import { canAdministerTenant, isPlatformAdmin, type Principal } from './principal';
import { ALL_USER_SCOPES } from './scopes';

const user = (roles: string[], adminTenantIds: string[] = []): Principal => ({
  userId: 'u1',
  tenantId: 'home',
  roles,
  adminTenantIds,
  via: 'jwt',
  scopes: ALL_USER_SCOPES,
});

describe('principal', () => {
  it('lets a platform admin administer every tenant', () => {
    const admin = user(['platform_admin']);
    expect(isPlatformAdmin(admin)).toBe(true);
    expect(canAdministerTenant(admin, 'any-tenant')).toBe(true);
  });

  it('lets a tenant admin administer its own tenant and those in tenant_ids only', () => {
    const admin = user(['tenant_admin'], ['t2']);
    expect(isPlatformAdmin(admin)).toBe(false);
    expect(canAdministerTenant(admin, 'home')).toBe(true);
    expect(canAdministerTenant(admin, 't2')).toBe(true);
    expect(canAdministerTenant(admin, 't3')).toBe(false);
  });

  it("treats '*' in tenant_ids as every tenant for a tenant admin", () => {
    expect(canAdministerTenant(user(['tenant_admin'], ['*']), 'whatever')).toBe(true);
  });

  it('gives tenant_ids no power without the tenant_admin role', () => {
    const plain = user([], ['*']);
    expect(canAdministerTenant(plain, 'home')).toBe(false);
    expect(canAdministerTenant(plain, 't2')).toBe(false);
  });
});
