import type { CosmosStore } from '../adapters/cosmos-store';
import { uploadDocumentSchema, type UploadDocument } from './upload';

/** Upload records in the `uploads` container, partitioned by tenant. */
export class UploadRepository {
  constructor(private readonly store: CosmosStore) {}

  async create(upload: UploadDocument): Promise<void> {
    await this.store.create('uploads', upload);
  }

  async find(tenantId: string, uploadId: string): Promise<UploadDocument | undefined> {
    return (await this.store.read('uploads', uploadId, tenantId, uploadDocumentSchema))?.document;
  }

  /** Read-modify-write under ETag; `change` returns undefined to leave the record as it is. */
  async update(
    tenantId: string,
    uploadId: string,
    change: (upload: UploadDocument) => UploadDocument | undefined,
  ): Promise<UploadDocument | undefined> {
    return this.store.update('uploads', uploadId, tenantId, uploadDocumentSchema, change);
  }

  async delete(tenantId: string, uploadId: string): Promise<void> {
    await this.store.delete('uploads', uploadId, tenantId);
  }

  /** A page of the tenant's uploads created before `before` (ISO 8601), oldest first. */
  async createdBefore(tenantId: string, before: string, maxItems: number): Promise<UploadDocument[]> {
    const page = await this.store.query(
      'uploads',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'upload' AND c.createdAt < @before ORDER BY c.createdAt",
      { tenantId, before },
      uploadDocumentSchema,
      { maxItems },
    );
    return page.items;
  }

  /** A page of the tenant's uploads still pending although their upload URL expired before `before`. */
  async pendingExpiredBefore(tenantId: string, before: string, maxItems: number): Promise<UploadDocument[]> {
    const page = await this.store.query(
      'uploads',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'upload' AND c.status = 'pending' AND c.uploadExpiresAt < @before ORDER BY c.uploadExpiresAt",
      { tenantId, before },
      uploadDocumentSchema,
      { maxItems },
    );
    return page.items;
  }
}
