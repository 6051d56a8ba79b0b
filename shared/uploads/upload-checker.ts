import type { UploadBlobs } from '../adapters/upload-blobs';
import type { Logger } from '../logger';
import { inspectFile, type Inspection } from './inspection/inspect-file';
import { parseUploadBlobName, type UploadDocument } from './upload';
import type { UploadRepository } from './upload-repository';

/** What one run of the check did, for the log and for tests. */
export type CheckOutcome =
  'ready' | 'rejected' | 'already_decided' | 'orphan_deleted' | 'replaced_deleted' | 'blob_gone';

export interface UploadCheckerOptions {
  uploads: Pick<UploadRepository, 'find' | 'update'>;
  blobs: UploadBlobs;
  logger: Logger;
  now?: () => Date;
}

/**
 * The blob trigger's service: decides `ready` or `rejected` for the blob that arrived under an upload's
 * path. Safe to run again for the same blob (the host runs a trigger at least once): the record changes
 * only while pending, a decision is tied to the blob's ETag, and a rejected blob is deleted after the
 * record says so, so a crash in between is finished by the next run.
 */
export class UploadChecker {
  private readonly now: () => Date;

  constructor(private readonly options: UploadCheckerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async check(blobName: string, bytes: Buffer): Promise<CheckOutcome> {
    const { uploads, blobs, logger } = this.options;
    const path = parseUploadBlobName(blobName);
    const upload = path && (await uploads.find(path.tenantId, path.uploadId));
    if (!upload || upload.blobName !== blobName) {
      await blobs.delete(blobName);
      logger.warn({ blobName }, 'upload check: blob without an upload record deleted');
      return 'orphan_deleted';
    }
    const etag = await blobs.etag(blobName);
    if (etag === undefined) return 'blob_gone';
    if (upload.status !== 'pending') return this.revisit(upload, etag);

    const inspection = await inspectFile(bytes, upload);
    const decided = await uploads.update(upload.tenantId, upload.id, (current) =>
      current.status === 'pending' ? this.decide(current, inspection, etag) : undefined,
    );
    if (!decided || decided.checkedEtag !== etag) return this.revisit(decided ?? upload, etag);
    if (decided.status === 'rejected') await blobs.delete(blobName);
    logger.info(
      {
        tenantId: upload.tenantId,
        uploadId: upload.id,
        status: decided.status,
        ...(decided.reason ? { reason: decided.reason } : {}),
      },
      'upload checked',
    );
    return decided.status === 'ready' ? 'ready' : 'rejected';
  }

  private decide(upload: UploadDocument, inspection: Inspection, etag: string): UploadDocument {
    const checked = { ...upload, checkedEtag: etag, checkedAt: this.now().toISOString() };
    if (inspection.verdict === 'ready') return { ...checked, status: 'ready', facts: inspection.facts };
    return { ...checked, status: 'rejected', reason: inspection.reason, detail: inspection.detail };
  }

  /**
   * A decided upload seen again. The same blob version: finish what a crashed run may have left (delete a
   * rejected blob). Another version (the URL created the blob again after a rejection deleted it): it is
   * deleted unchecked, and a ready upload whose content changed is rejected.
   */
  private async revisit(upload: UploadDocument, etag: string): Promise<CheckOutcome> {
    const { uploads, blobs, logger } = this.options;
    if (upload.checkedEtag === etag) {
      if (upload.status === 'rejected') await blobs.delete(upload.blobName);
      return 'already_decided';
    }
    await blobs.delete(upload.blobName);
    if (upload.status === 'ready') {
      await uploads.update(upload.tenantId, upload.id, (current) => ({
        ...current,
        status: 'rejected',
        reason: 'blob_replaced',
        detail: 'The file changed after it was checked.',
      }));
    }
    logger.warn({ tenantId: upload.tenantId, uploadId: upload.id }, 'upload check: new blob version deleted');
    return 'replaced_deleted';
  }
}
