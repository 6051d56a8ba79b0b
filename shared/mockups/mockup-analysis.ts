import type { UploadBlobs } from '../adapters/upload-blobs';
import { defaultModels } from '../engine/catalog';
import { buildMockupRequest } from '../engine/mockup-inventory';
import { AppError, toAppError } from '../errors';
import type { JobRepository } from '../jobs/job-repository';
import { meteredLlm } from '../jobs/metered-llm';
import type { MockupAnalyzeInput, MockupAnalyzeOutput } from '../jobs/orchestration-contract';
import type { UsageRepository } from '../jobs/usage-records';
import type { LlmPort } from '../llm/port';
import type { ProgressPublisher } from '../progress/progress-publisher';
import type { QuotaService } from '../quotas/quota-service';
import { MAX_UPLOAD_BYTES } from '../uploads/upload';
import type { UploadRepository } from '../uploads/upload-repository';
import { attachmentFor } from './attachments';
import type { MockupInventoryRepository } from './inventory-repository';

export interface MockupAnalysisOptions {
  jobs: JobRepository;
  uploads: UploadRepository;
  blobs: UploadBlobs;
  inventories: MockupInventoryRepository;
  usage: UsageRepository;
  llm: LlmPort;
  quotas?: QuotaService;
  progress?: ProgressPublisher;
  llmTimeoutMs?: number;
  now?: () => Date;
}

/**
 * The `mockupAnalyze` activity's work: one vision (or document) call per upload, metered and priced like
 * every other call, its inventory saved beside the job for the iterations' context. Idempotent: an inventory
 * already saved is not asked for again, and its events are logged once.
 */
export class MockupAnalysis {
  private readonly now: () => Date;

  constructor(private readonly options: MockupAnalysisOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async analyze(input: MockupAnalyzeInput): Promise<MockupAnalyzeOutput> {
    const { jobs, uploads, inventories, progress } = this.options;
    const job = await jobs.find(input.tenantId, input.jobId);
    if (!job) throw new AppError('not_found', `Job ${input.jobId} was not found.`);
    if (job.cancelRequested) return { uploadId: input.uploadId, outcome: 'cancelled' };
    if (await inventories.find(input.tenantId, input.jobId, input.uploadId)) {
      return { uploadId: input.uploadId, outcome: 'analyzed' };
    }
    const upload = await uploads.find(input.tenantId, input.uploadId);
    const bytes =
      upload?.status === 'ready'
        ? await this.options.blobs.read(upload.blobName, MAX_UPLOAD_BYTES)
        : undefined;
    if (!upload || !bytes) {
      return {
        uploadId: input.uploadId,
        outcome: 'failed',
        error: {
          code: 'validation_failed',
          message: `Upload ${input.uploadId} is no longer available (deleted after its retention period?).`,
          retryable: false,
        },
      };
    }
    const event = { jobId: input.jobId, uploadId: upload.id, fileName: upload.fileName };
    await progress?.emit(input, { event: 'mockup:analyzing', data: event }, `mockup:analyzing:${upload.id}`);
    try {
      const llm = meteredLlm(job, { ...this.options, now: this.now });
      const response = await llm.generate(
        buildMockupRequest({
          uploadId: upload.id,
          fileName: upload.fileName,
          attachment: attachmentFor(upload.contentType, upload.fileName, bytes),
          model: job.options.model ?? defaultModels.standard,
          attempt: 1,
          timeoutMs: this.options.llmTimeoutMs,
        }),
      );
      await inventories.save(input.tenantId, input.jobId, {
        ...response.output,
        uploadId: upload.id,
        fileName: upload.fileName,
        contentType: upload.contentType,
      });
    } catch (error: unknown) {
      const appError = toAppError(error);
      if (appError.code === 'cancelled') return { uploadId: upload.id, outcome: 'cancelled' };
      // Transient failures throw, so the orchestration's retry policy runs the activity again.
      if (appError.retryable) throw appError;
      return { uploadId: upload.id, outcome: 'failed', error: appError.toJSON() };
    }
    await progress?.emit(input, { event: 'mockup:complete', data: event }, `mockup:complete:${upload.id}`);
    return { uploadId: upload.id, outcome: 'analyzed' };
  }
}
