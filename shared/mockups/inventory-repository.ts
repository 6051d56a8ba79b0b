import { z } from 'zod';
import type { CosmosStore } from '../adapters/cosmos-store';
import { mockupInventorySchema, type MockupInventory } from '../engine/mockup-inventory';

const inventoryDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('mockupInventory'),
  jobId: z.string(),
  inventory: mockupInventorySchema,
});

/** A job's mockup inventories, one document each in the `jobs` container beside the job (same partition). */
export class MockupInventoryRepository {
  constructor(private readonly store: CosmosStore) {}

  private static id(jobId: string, uploadId: string): string {
    return `${jobId}:mockup:${uploadId}`;
  }

  async find(tenantId: string, jobId: string, uploadId: string): Promise<MockupInventory | undefined> {
    const found = await this.store.read(
      'jobs',
      MockupInventoryRepository.id(jobId, uploadId),
      tenantId,
      inventoryDocumentSchema,
    );
    return found?.document.inventory;
  }

  /** Written with a fixed id, so an activity that runs again overwrites instead of adding. */
  async save(tenantId: string, jobId: string, inventory: MockupInventory): Promise<void> {
    await this.store.upsert('jobs', {
      id: MockupInventoryRepository.id(jobId, inventory.uploadId),
      tenantId,
      type: 'mockupInventory' as const,
      jobId,
      inventory,
    });
  }

  async forJob(tenantId: string, jobId: string): Promise<MockupInventory[]> {
    const inventories: MockupInventory[] = [];
    for await (const document of this.store.queryAll(
      'jobs',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'mockupInventory' AND c.jobId = @jobId",
      { tenantId, jobId },
      inventoryDocumentSchema,
    )) {
      inventories.push(document.inventory);
    }
    return inventories;
  }
}
