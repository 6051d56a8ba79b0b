import type { UploadBlobs } from '../adapters/upload-blobs';
import type { Logger } from '../logger';
import type { PlanRepository } from '../plans/plan-repository';
import type { TenantRepository } from '../tenants/tenant-repository';
import { DEFAULT_UPLOAD_RETENTION_DAYS, type UploadDocument } from './upload';
import type { UploadRepository } from './upload-repository';

export interface UploadRetentionOptions {
  uploads: UploadRepository;
  blobs: UploadBlobs;
  tenants: TenantRepository;
  plans: PlanRepository;
  logger: Logger;
  /** Records handled per query; the next page is queried after these are gone. */
  pageSize?: number;
  /** Bound on pages per tenant and run, so one run stays short; the next run goes on. */
  maxPagesPerTenant?: number;
  now?: () => Date;
}

export interface RetentionReport {
  /** Uploads (blob and record) removed because they outlived the tenant's retention. */
  expired: number;
  /** Uploads still pending an hour after their URL expired: blob deleted if any, marked rejected. */
  abandoned: number;
}

/** A pending upload is given up this long after its URL expired (the trigger normally answers in seconds). */
const abandonAfterMs = 60 * 60 * 1000;
const dayMs = 24 * 60 * 60 * 1000;

/**
 * The retention timer's service: deletes every upload (blob first, then record, so a crash leaves nothing
 * the next run cannot finish) created before the tenant's plan retention, page by page, and gives up uploads
 * that never arrived or were never checked. Each removal is logged.
 */
export class UploadRetention {
  private readonly now: () => Date;
  private readonly pageSize: number;
  private readonly maxPages: number;

  constructor(private readonly options: UploadRetentionOptions) {
    this.now = options.now ?? (() => new Date());
    this.pageSize = options.pageSize ?? 100;
    this.maxPages = options.maxPagesPerTenant ?? 50;
  }

  async run(): Promise<RetentionReport> {
    const report: RetentionReport = { expired: 0, abandoned: 0 };
    for await (const tenantId of this.options.tenants.listIds()) {
      report.expired += await this.expire(tenantId);
      report.abandoned += await this.abandon(tenantId);
    }
    this.options.logger.info(report, 'upload retention run finished');
    return report;
  }

  private async retentionDays(tenantId: string): Promise<number> {
    const tenant = await this.options.tenants.find(tenantId);
    const plan = tenant && (await this.options.plans.find(tenant.planId));
    return plan?.limits.uploadRetentionDays ?? DEFAULT_UPLOAD_RETENTION_DAYS;
  }

  private async expire(tenantId: string): Promise<number> {
    const days = await this.retentionDays(tenantId);
    const before = new Date(this.now().getTime() - days * dayMs).toISOString();
    return this.drain(
      (size) => this.options.uploads.createdBefore(tenantId, before, size),
      async (upload) => {
        await this.options.blobs.delete(upload.blobName);
        await this.options.uploads.delete(upload.tenantId, upload.id);
        this.options.logger.info(
          {
            tenantId,
            uploadId: upload.id,
            blobName: upload.blobName,
            createdAt: upload.createdAt,
            retentionDays: days,
          },
          'upload removed after its retention period',
        );
      },
    );
  }

  private async abandon(tenantId: string): Promise<number> {
    const before = new Date(this.now().getTime() - abandonAfterMs).toISOString();
    return this.drain(
      (size) => this.options.uploads.pendingExpiredBefore(tenantId, before, size),
      async (upload) => {
        const arrived = (await this.options.blobs.etag(upload.blobName)) !== undefined;
        await this.options.blobs.delete(upload.blobName);
        await this.options.uploads.update(tenantId, upload.id, (current) =>
          current.status !== 'pending'
            ? undefined
            : {
                ...current,
                status: 'rejected',
                reason: arrived ? 'not_checked' : 'not_uploaded',
                detail: arrived
                  ? 'The file could not be checked; upload it again.'
                  : 'No file arrived before the upload URL expired.',
                checkedAt: this.now().toISOString(),
              },
        );
        this.options.logger.info(
          { tenantId, uploadId: upload.id, blobName: upload.blobName, arrived },
          'pending upload given up',
        );
      },
    );
  }

  /** Handles pages until a query comes back short (each handled item leaves the query's results). */
  private async drain(
    page: (size: number) => Promise<UploadDocument[]>,
    handle: (upload: UploadDocument) => Promise<void>,
  ): Promise<number> {
    let handled = 0;
    for (let pages = 0; pages < this.maxPages; pages++) {
      const items = await page(this.pageSize);
      for (const upload of items) await handle(upload);
      handled += items.length;
      if (items.length < this.pageSize) break;
    }
    return handled;
  }
}
