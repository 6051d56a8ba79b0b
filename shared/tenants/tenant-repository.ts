import { z } from 'zod';
import { DocumentExistsError, platformPartition, type CosmosStore } from '../adapters/cosmos-store';

export const tenantDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('tenant'),
  planId: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Tenant = z.infer<typeof tenantDocumentSchema>;

/**
 * One entry per tenant in the platform partition, so platform-wide reports (the usage export) can list the
 * tenants with a tenant-filtered query instead of a cross-partition scan.
 */
const tenantIndexSchema = z.object({
  id: z.string(),
  tenantId: z.literal(platformPartition),
  type: z.literal('tenant-index'),
  indexedTenantId: z.string(),
  /** The tenant's plan, kept beside it so retiring a plan finds its tenants in one partition; absent on old entries. */
  planId: z.string().optional(),
});
type TenantIndexEntry = z.infer<typeof tenantIndexSchema>;

const indexEntry = (tenantId: string, planId: string): TenantIndexEntry => ({
  id: `tenant-index:${tenantId}`,
  tenantId: platformPartition,
  type: 'tenant-index',
  indexedTenantId: tenantId,
  planId,
});

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
    await this.index(tenantId, this.defaultPlanId);
    try {
      await this.store.create('tenants', tenant);
      return tenant;
    } catch (error: unknown) {
      if (!(error instanceof DocumentExistsError)) throw error;
      const winner = await this.find(tenantId);
      if (!winner) throw error;
      return winner;
    }
  }

  /** Written before the tenant itself, so every tenant that exists is listed. */
  private async index(tenantId: string, planId: string): Promise<void> {
    try {
      await this.store.create('tenants', indexEntry(tenantId, planId));
    } catch (error: unknown) {
      if (!(error instanceof DocumentExistsError)) throw error;
    }
  }

  /**
   * The tenants on `planId`: index entries naming it, and tenants whose entry predates the plan field (read
   * one by one; changing such a tenant's plan fills the field in).
   */
  async idsOnPlan(planId: string): Promise<string[]> {
    const onPlan: string[] = [];
    for await (const entry of this.store.queryAll(
      'tenants',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'tenant-index' AND (c.planId = @planId OR NOT IS_DEFINED(c.planId))",
      { tenantId: platformPartition, planId },
      tenantIndexSchema,
    )) {
      const plan = entry.planId ?? (await this.find(entry.indexedTenantId))?.planId;
      if (plan === planId) onPlan.push(entry.indexedTenantId);
    }
    return onPlan;
  }

  /** Every tenant's id. */
  async *listIds(): AsyncGenerator<string> {
    for await (const entry of this.store.queryAll(
      'tenants',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'tenant-index' ORDER BY c.indexedTenantId",
      { tenantId: platformPartition },
      tenantIndexSchema,
    )) {
      yield entry.indexedTenantId;
    }
  }

  async changePlan(tenantId: string, planId: string): Promise<Tenant> {
    const before = await this.ensure(tenantId);
    // The index names the new plan before the tenant moves, so a plan being retired sees the move coming.
    await this.store.upsert('tenants', indexEntry(tenantId, planId));
    let updated: Tenant | undefined;
    try {
      updated = await this.store.update('tenants', tenantId, tenantId, tenantDocumentSchema, (tenant) => ({
        ...tenant,
        planId,
        updatedAt: this.now().toISOString(),
      }));
    } catch (error: unknown) {
      await this.store.upsert('tenants', indexEntry(tenantId, before.planId));
      throw error;
    }
    if (!updated) throw new Error(`Tenant ${tenantId} vanished while its plan was changed.`);
    return updated;
  }
}
