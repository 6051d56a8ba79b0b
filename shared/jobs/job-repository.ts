import { z } from 'zod';
import type { CosmosStore } from '../adapters/cosmos-store';
import { decodeCursor, encodeCursor } from '../adapters/page-cursor';
import { catalogIndex } from '../engine/catalog';
import { iterationResultSchema, type IterationResult } from '../engine/iteration-result';
import { jobDocumentSchema, type JobDocument, type JobStatus } from './job';

/** One iteration's result, kept as its own document so parallel iterations never contend for the job's ETag. */
const iterationDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('iterationResult'),
  jobId: z.string(),
  result: iterationResultSchema,
});

const idempotencyDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('idempotency'),
  userId: z.string(),
  jobId: z.string(),
  bodyHash: z.string(),
  createdAt: z.string(),
});
export type IdempotencyRecord = z.infer<typeof idempotencyDocumentSchema>;

export interface JobPage {
  items: JobDocument[];
  nextCursor: string | undefined;
}

/** Jobs, their iteration results and idempotency keys, all in the `jobs` container under the job's tenant. */
export class JobRepository {
  constructor(private readonly store: CosmosStore) {}

  async create(job: JobDocument): Promise<void> {
    await this.store.create('jobs', job);
  }

  async find(tenantId: string, jobId: string): Promise<JobDocument | undefined> {
    return (await this.store.read('jobs', jobId, tenantId, jobDocumentSchema))?.document;
  }

  /** Read-modify-write under ETag; `change` returns undefined to leave the job as it is. */
  async update(
    tenantId: string,
    jobId: string,
    change: (job: JobDocument) => JobDocument | undefined,
  ): Promise<JobDocument | undefined> {
    return this.store.update('jobs', jobId, tenantId, jobDocumentSchema, change, 50);
  }

  /** A user's jobs, newest first, one page at a time; the cursor is opaque to clients. */
  async listForUser(
    tenantId: string,
    userId: string,
    options: { status?: JobStatus; limit: number; cursor?: string },
  ): Promise<JobPage> {
    const statusFilter = options.status ? ' AND c.status = @status' : '';
    const page = await this.store.query(
      'jobs',
      `SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'job' AND c.userId = @userId${statusFilter} ORDER BY c.createdAt DESC`,
      { tenantId, userId, ...(options.status ? { status: options.status } : {}) },
      jobDocumentSchema,
      { maxItems: options.limit, continuationToken: decodeCursor(options.cursor) },
    );
    return { items: page.items, nextCursor: encodeCursor(page.continuationToken) };
  }

  /** A tenant's jobs of every user, newest first (admins' view, e.g. the failed ones with their error code). */
  async listForTenant(
    tenantId: string,
    options: { status?: JobStatus; errorCode?: string; limit: number; cursor?: string },
  ): Promise<JobPage> {
    const filters = `${options.status ? ' AND c.status = @status' : ''}${options.errorCode ? ' AND c.error.code = @errorCode' : ''}`;
    const page = await this.store.query(
      'jobs',
      `SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'job'${filters} ORDER BY c.createdAt DESC`,
      {
        tenantId,
        ...(options.status ? { status: options.status } : {}),
        ...(options.errorCode ? { errorCode: options.errorCode } : {}),
      },
      jobDocumentSchema,
      { maxItems: options.limit, continuationToken: decodeCursor(options.cursor) },
    );
    return { items: page.items, nextCursor: encodeCursor(page.continuationToken) };
  }

  async saveIterationResult(tenantId: string, jobId: string, result: IterationResult): Promise<void> {
    await this.store.upsert('jobs', {
      id: `${jobId}:iteration:${result.id}`,
      tenantId,
      type: 'iterationResult' as const,
      jobId,
      result,
    });
  }

  /** The job's iteration results in catalog order. */
  async iterationResults(tenantId: string, jobId: string): Promise<IterationResult[]> {
    const results: IterationResult[] = [];
    for await (const document of this.store.queryAll(
      'jobs',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'iterationResult' AND c.jobId = @jobId",
      { tenantId, jobId },
      iterationDocumentSchema,
    )) {
      results.push(document.result);
    }
    return results.sort((a, b) => catalogIndex(a.id) - catalogIndex(b.id));
  }

  async findIdempotency(tenantId: string, id: string): Promise<IdempotencyRecord | undefined> {
    return (await this.store.read('jobs', id, tenantId, idempotencyDocumentSchema))?.document;
  }

  /** Claims an idempotency key; `conflict` (already exists) when another request claimed it first. */
  async createIdempotency(record: IdempotencyRecord): Promise<void> {
    await this.store.create('jobs', record);
  }
}
