import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { UploadBlobs } from '../adapters/upload-blobs';
import { AppError } from '../errors';
import type { PlanRepository } from '../plans/plan-repository';
import type { PlanLimits } from '../plans/plan';
import type { TenantRepository } from '../tenants/tenant-repository';
import {
  MAX_JOB_UPLOAD_BYTES,
  MAX_UPLOAD_BYTES,
  isUploadContentType,
  safeFileName,
  toUploadView,
  uploadBlobName,
  uploadContentTypes,
  type CreateUploadBody,
  type UploadDocument,
  type UploadTicket,
  type UploadView,
} from './upload';
import type { UploadRepository } from './upload-repository';

export interface UploadCaller {
  tenantId: string;
  userId: string;
}

export interface UploadServiceOptions {
  uploads: UploadRepository;
  blobs: UploadBlobs;
  tenants: TenantRepository;
  plans: PlanRepository;
  /** Lifetime of an upload URL. */
  urlTtlSeconds: number;
  /** How long job creation waits for uploads that are still being checked. */
  pendingWaitMs: number;
  now?: () => Date;
  newId?: () => string;
}

/** The largest file the plan accepts: the contract's 10 MB unless the plan sets less. */
export function maxUploadBytes(limits: PlanLimits): number {
  return Math.min(limits.maxUploadBytes ?? MAX_UPLOAD_BYTES, MAX_UPLOAD_BYTES);
}

/**
 * Upload intake: checks what the client declares, records a pending upload and hands out a URL that can
 * create exactly that blob once. What actually arrives is checked by the blob trigger (`UploadChecker`).
 */
export class UploadService {
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(private readonly options: UploadServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? (() => randomUUID());
  }

  /** 415 for a type other than PNG/JPEG/PDF/SVG and 413 over the plan's size, both before any URL exists. */
  async create(caller: UploadCaller, body: CreateUploadBody): Promise<UploadTicket> {
    const contentType = body.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    if (!isUploadContentType(contentType)) {
      throw new AppError(
        'unsupported_media_type',
        `Uploads must be ${Object.keys(uploadContentTypes).join(', ')}; got ${body.contentType.slice(0, 100)}.`,
      );
    }
    const tenant = await this.options.tenants.ensure(caller.tenantId);
    const plan = await this.options.plans.get(tenant.planId);
    const limit = maxUploadBytes(plan.limits);
    if (body.sizeBytes > limit) {
      throw new AppError(
        'payload_too_large',
        `The file is ${body.sizeBytes} bytes; the ${plan.name} plan accepts at most ${limit} per upload.`,
      );
    }
    const uploadId = this.newId();
    const fileName = safeFileName(body.fileName, contentType);
    const createdAt = this.now();
    const expiresAt = new Date(createdAt.getTime() + this.options.urlTtlSeconds * 1000);
    const blobName = uploadBlobName(caller.tenantId, uploadId, fileName);
    const upload: UploadDocument = {
      id: uploadId,
      tenantId: caller.tenantId,
      type: 'upload',
      userId: caller.userId,
      fileName,
      contentType,
      sizeBytes: body.sizeBytes,
      blobName,
      status: 'pending',
      createdAt: createdAt.toISOString(),
      uploadExpiresAt: expiresAt.toISOString(),
    };
    // The record exists before the URL does, so every blob the URL can create has a record to be checked against.
    await this.options.uploads.create(upload);
    const uploadUrl = await this.options.blobs.createOnceUrl(blobName, expiresAt);
    return {
      uploadId,
      uploadUrl,
      expiresAt: upload.uploadExpiresAt,
      method: 'PUT',
      headers: { 'x-ms-blob-type': 'BlockBlob', 'content-type': contentType },
    };
  }

  /** The tenant's upload; another tenant's id is indistinguishable from a missing one. */
  async get(caller: UploadCaller, uploadId: string): Promise<UploadView> {
    const upload = await this.options.uploads.find(caller.tenantId, uploadId);
    if (!upload) throw new AppError('not_found', `Upload ${uploadId} was not found.`);
    return toUploadView(upload);
  }

  /**
   * The uploads a new job refers to, all of them this tenant's and `ready`. Uploads still pending are waited
   * for up to `pendingWaitMs`; anything else is a 400 naming each offending id, and more than 50 MB together
   * a 413.
   */
  async readyForJob(tenantId: string, uploadIds: readonly string[]): Promise<UploadDocument[]> {
    const ids = [...new Set(uploadIds)];
    const deadline = Date.now() + this.options.pendingWaitMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
      const found = await Promise.all(ids.map((id) => this.options.uploads.find(tenantId, id)));
      const problems = ids.flatMap((id, index) => {
        const upload = found[index];
        if (!upload) return [`${id} (not found)`];
        if (upload.status === 'rejected') return [`${id} (rejected: ${upload.reason ?? 'unknown'})`];
        if (upload.status === 'pending') return [`${id} (still pending)`];
        return [];
      });
      const stillPending = found.some((upload) => upload?.status === 'pending');
      const remaining = deadline - Date.now();
      if (problems.length > 0 && stillPending && remaining > 0) {
        await sleep(Math.min(delay, remaining));
        continue;
      }
      if (problems.length > 0) {
        throw new AppError('validation_failed', `uploads: not ready: ${problems.join(', ')}.`, {
          details: { uploads: problems },
        });
      }
      const ready = found.filter((upload): upload is UploadDocument => upload !== undefined);
      const totalBytes = ready.reduce((sum, upload) => sum + upload.sizeBytes, 0);
      if (totalBytes > MAX_JOB_UPLOAD_BYTES) {
        throw new AppError(
          'payload_too_large',
          `The job's uploads are ${totalBytes} bytes together; at most ${MAX_JOB_UPLOAD_BYTES} are accepted.`,
        );
      }
      return ready;
    }
  }
}
