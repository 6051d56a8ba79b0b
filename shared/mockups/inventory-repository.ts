import { z } from 'zod';
import type { CosmosStore } from '../adapters/cosmos-store';
import { mockupResultSchema, type MockupResult } from '../engine/mockup-inventory';

const inventoryDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('mockupInventory'),
  jobId: z.string(),
  inventory: mockupResultSchema.shape.inventory,
  usage: mockupResultSchema.shape.usage,
});

/**
 * A job's mockups as read by the workflow (inventory and usage), one document each in the `jobs` container
 * beside the job (same partition).
 */
export class MockupInventoryRepository {
  constructor(private readonly store: CosmosStore) {}

  private static id(jobId: string, uploadId: string): string {
    return `${jobId}:mockup:${uploadId}`;
  }

  /** Written with a fixed id, so a step that runs again overwrites instead of adding. */
  async save(tenantId: string, jobId: string, result: MockupResult): Promise<void> {
    await this.store.upsert('jobs', {
      id: MockupInventoryRepository.id(jobId, result.inventory.uploadId),
      tenantId,
      type: 'mockupInventory' as const,
      jobId,
      inventory: result.inventory,
      usage: result.usage,
    });
  }

  async forJob(tenantId: string, jobId: string): Promise<MockupResult[]> {
    const results: MockupResult[] = [];
    for await (const document of this.store.queryAll(
      'jobs',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'mockupInventory' AND c.jobId = @jobId",
      { tenantId, jobId },
      inventoryDocumentSchema,
    )) {
      results.push({ inventory: document.inventory, usage: document.usage });
    }
    return results;
  }
}
