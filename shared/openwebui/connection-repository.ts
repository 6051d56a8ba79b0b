import type { CosmosStore } from '../adapters/cosmos-store';
import { connectionDocumentSchema, type ConnectionDocument } from './connection';

/** The id a connection is stored under. */
export const connectionDocumentId = (connectionId: string) => `openwebui:${connectionId}`;

/** OpenWebUI connections in the `tenants` container, under their tenant's partition. */
export class ConnectionRepository {
  constructor(private readonly store: CosmosStore) {}

  async create(document: ConnectionDocument): Promise<void> {
    await this.store.create('tenants', document);
  }

  async find(tenantId: string, connectionId: string): Promise<ConnectionDocument | undefined> {
    return (
      await this.store.read('tenants', connectionDocumentId(connectionId), tenantId, connectionDocumentSchema)
    )?.document;
  }

  async list(tenantId: string): Promise<ConnectionDocument[]> {
    const found: ConnectionDocument[] = [];
    for await (const document of this.store.queryAll(
      'tenants',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'openwebuiConnection' ORDER BY c.createdAt DESC",
      { tenantId },
      connectionDocumentSchema,
    )) {
      found.push(document);
    }
    return found;
  }

  async delete(tenantId: string, connectionId: string): Promise<void> {
    await this.store.delete('tenants', connectionDocumentId(connectionId), tenantId);
  }
}
