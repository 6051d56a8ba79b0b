import { z } from 'zod';
import { platformPartition, type CosmosStore } from '../adapters/cosmos-store';
import { apiKeyRecordSchema, type ApiKeyRecord, type ApiKeyStore } from './api-keys';

/**
 * API keys in Cosmos: the record under its owner's tenant (listed per user), plus a small index document in
 * the platform partition that maps a key id to its tenant, so a presented key is found with two point reads
 * and no cross-tenant query.
 */
const keyDocumentSchema = apiKeyRecordSchema.extend({ id: z.string(), type: z.literal('apiKey') });
const indexDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.literal(platformPartition),
  type: z.literal('apiKeyIndex'),
  keyTenantId: z.string(),
});

const toRecord = ({ id: _id, type: _type, ...record }: z.infer<typeof keyDocumentSchema>): ApiKeyRecord =>
  record;

export class ApiKeyRepository implements ApiKeyStore {
  constructor(private readonly store: CosmosStore) {}

  async create(record: ApiKeyRecord): Promise<void> {
    await this.store.create('apiKeys', {
      id: `apikey-index:${record.keyId}`,
      tenantId: platformPartition,
      type: 'apiKeyIndex',
      keyTenantId: record.tenantId,
    });
    await this.store.create('apiKeys', { ...record, id: record.keyId, type: 'apiKey' as const });
  }

  async findByKeyId(keyId: string): Promise<ApiKeyRecord | undefined> {
    const index = await this.store.read(
      'apiKeys',
      `apikey-index:${keyId}`,
      platformPartition,
      indexDocumentSchema,
    );
    if (!index) return undefined;
    const found = await this.store.read('apiKeys', keyId, index.document.keyTenantId, keyDocumentSchema);
    return found && toRecord(found.document);
  }

  async touchLastUsed(keyId: string, tenantId: string, at: string): Promise<void> {
    await this.store.update('apiKeys', keyId, tenantId, keyDocumentSchema, (current) =>
      current.lastUsedAt !== undefined && current.lastUsedAt >= at
        ? undefined
        : { ...current, lastUsedAt: at },
    );
  }

  /** The user's keys, newest first (revoked ones included, marked). */
  async listForUser(tenantId: string, userId: string): Promise<ApiKeyRecord[]> {
    const records: ApiKeyRecord[] = [];
    for await (const document of this.store.queryAll(
      'apiKeys',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'apiKey' AND c.userId = @userId ORDER BY c.createdAt DESC",
      { tenantId, userId },
      keyDocumentSchema,
    )) {
      records.push(toRecord(document));
    }
    return records;
  }

  /** One of the user's keys; another user's or tenant's key is undefined, as a missing one. */
  async findOwn(tenantId: string, userId: string, keyId: string): Promise<ApiKeyRecord | undefined> {
    const current = await this.store.read('apiKeys', keyId, tenantId, keyDocumentSchema);
    return current && current.document.userId === userId ? toRecord(current.document) : undefined;
  }

  /** Revokes one of the user's keys; undefined when the user has no such key. Revoking twice is harmless. */
  async revoke(
    tenantId: string,
    userId: string,
    keyId: string,
    at: string,
  ): Promise<ApiKeyRecord | undefined> {
    if (!(await this.findOwn(tenantId, userId, keyId))) return undefined;
    const updated = await this.store.update('apiKeys', keyId, tenantId, keyDocumentSchema, (document) =>
      document.revokedAt ? undefined : { ...document, revokedAt: at },
    );
    return updated && toRecord(updated);
  }
}
