import {
  DocumentChangedError,
  DocumentExistsError,
  platformPartition,
  type CosmosStore,
} from '../adapters/cosmos-store';
import { decodeCursor, encodeCursor } from '../adapters/page-cursor';
import { usageAlertDocumentSchema, type UsageAlertDocument } from './usage-alert';

/** Alerts in the `alerts` container: the tenant's own documents and the platform feed's copies. */
export class AlertRepository {
  constructor(private readonly store: CosmosStore) {}

  /**
   * Takes on raising `alert`. Claimed when this caller created it, or found it unfinished and abandoned
   * (claimed longer than `leaseMs` ago) and won the ETag race to take it over; otherwise another scan raised
   * it or is raising it now, and the stored alert comes back unclaimed. So each alert's effects are carried
   * out by one scan at a time, and a scan that stopped half-way is finished by the next scan of that hour.
   */
  async claim(
    alert: UsageAlertDocument,
    leaseMs: number,
  ): Promise<{ document: UsageAlertDocument; claimed: boolean }> {
    try {
      await this.store.create('alerts', alert);
      return { document: alert, claimed: true };
    } catch (error: unknown) {
      if (!(error instanceof DocumentExistsError)) throw error;
    }
    const existing = await this.store.read('alerts', alert.id, alert.tenantId, usageAlertDocumentSchema);
    if (!existing) throw new Error(`Alert ${alert.id} vanished while it was claimed.`);
    const stale = Date.parse(alert.claimedAt) - Date.parse(existing.document.claimedAt) >= leaseMs;
    if (existing.document.raisedAt !== undefined || !stale)
      return { document: existing.document, claimed: false };
    try {
      const taken = { ...existing.document, claimedAt: alert.claimedAt };
      return { document: (await this.store.replace('alerts', taken, existing.etag)).document, claimed: true };
    } catch (error: unknown) {
      if (error instanceof DocumentChangedError) return { document: existing.document, claimed: false };
      throw error;
    }
  }

  /** Copies the alert into the platform feed; a copy that exists already is left as it is. */
  async addToPlatformFeed(alert: UsageAlertDocument): Promise<void> {
    try {
      await this.store.create('alerts', { ...alert, tenantId: platformPartition });
    } catch (error: unknown) {
      if (!(error instanceof DocumentExistsError)) throw error;
    }
  }

  async markRaised(alert: UsageAlertDocument, raisedAt: Date, auditSeq: number): Promise<void> {
    await this.store.update('alerts', alert.id, alert.tenantId, usageAlertDocumentSchema, (current) => ({
      ...current,
      raisedAt: raisedAt.toISOString(),
      auditSeq,
    }));
  }

  /** A page of one partition's alerts (a tenant's, or the platform feed), newest hour first. */
  async list(
    partition: string,
    query: { from?: string | undefined; to?: string | undefined; limit: number; cursor?: string | undefined },
  ): Promise<{ items: UsageAlertDocument[]; nextCursor: string | undefined }> {
    const filters = `${query.from ? ' AND c.hour >= @from' : ''}${query.to ? ' AND c.hour < @to' : ''}`;
    const page = await this.store.query(
      'alerts',
      `SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'usageAlert'${filters} ORDER BY c.hour DESC`,
      {
        tenantId: partition,
        ...(query.from ? { from: new Date(query.from).toISOString() } : {}),
        ...(query.to ? { to: new Date(query.to).toISOString() } : {}),
      },
      usageAlertDocumentSchema,
      { maxItems: query.limit, continuationToken: decodeCursor(query.cursor) },
    );
    return { items: page.items, nextCursor: encodeCursor(page.continuationToken) };
  }
}
