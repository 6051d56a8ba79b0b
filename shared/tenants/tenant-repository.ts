import { z } from 'zod';
import { isAlreadyExists, type CosmosStore } from '../adapters/cosmos-store';

export const tenantDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('tenant'),
  planId: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Tenant = z.infer<typeof tenantDocumentSchema>;

/** Tenants are created on first sight, on the default plan (the contract's `DEFAULT_PLAN`). */
export class TenantRepository {
  constructor(
    private readonly store: CosmosStore,
    private readonly defaultPlanId: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private readonly known = new Set<string>();

  /** `ensure`, remembered per process: a tenant is created on first sight without a read on every request. */
  async ensureKnown(tenantId: string): Promise<void> {
    if (this.known.has(tenantId)) return;
    await this.ensure(tenantId);
    this.known.add(tenantId);
  }

  async find(tenantId: string): Promise<Tenant | undefined> {
    return (await this.store.read('tenants', tenantId, tenantId, tenantDocumentSchema))?.document;
  }

  /** The tenant, created on the default plan if this is the first time it is seen (safe under races). */
  async ensure(tenantId: string): Promise<Tenant> {
    const existing = await this.find(tenantId);
    if (existing) return existing;
    const at = this.now().toISOString();
    const tenant: Tenant = {
      id: tenantId,
      tenantId,
      type: 'tenant',
      planId: this.defaultPlanId,
      createdAt: at,
      updatedAt: at,
    };
    try {
      await this.store.create('tenants', tenant);
      return tenant;
    } catch (error: unknown) {
      if (!isAlreadyExists(error)) throw error;
      const winner = await this.find(tenantId);
      if (!winner) throw error;
      return winner;
    }
  }

  async changePlan(tenantId: string, planId: string): Promise<Tenant> {
    await this.ensure(tenantId);
    const updated = await this.store.update(
      'tenants',
      tenantId,
      tenantId,
      tenantDocumentSchema,
      (tenant) => ({
        ...tenant,
        planId,
        updatedAt: this.now().toISOString(),
      }),
    );
    if (!updated) throw new Error(`Tenant ${tenantId} vanished while its plan was changed.`);
    return updated;
  }
}
