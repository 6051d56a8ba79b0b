import { z } from 'zod';
import type { CosmosStore } from '../adapters/cosmos-store';
import { addCall, emptyUsage, type Usage } from '../engine/iteration-result';
import {
  callPurposeKinds,
  UnusableAnswerError,
  wrapGenerate,
  type LlmPort,
  type StructuredRequest,
  type PricedAnswer,
  type StructuredResponse,
} from '../llm/port';

/**
 * One record per LLM call, with an id derived from (job, iteration, purpose, attempt): a replayed, retried or
 * re-run activity writes the same id again, so a call is never counted twice. Every total (job, day, month,
 * export) is a sum of these records.
 */
export const usageRecordSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  userId: z.string(),
  type: z.literal('usage'),
  jobId: z.string(),
  iterationId: z.string(),
  purpose: z.enum(callPurposeKinds),
  attempt: z.number().int().positive(),
  model: z.string(),
  provider: z.string(),
  at: z.string(),
  /** `YYYY-MM-DD` (UTC), for daily totals. */
  day: z.string(),
  /** `YYYY-MM` (UTC), for monthly totals. */
  month: z.string(),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheCreationInputTokens: z.number().int().nonnegative(),
  cacheReadInputTokens: z.number().int().nonnegative(),
  costMicroUsd: z.number().int().nonnegative(),
});
export type UsageRecord = z.infer<typeof usageRecordSchema>;

export function usageRecordId(jobId: string, iterationId: string, purpose: string, attempt: number): string {
  return `usage:${jobId}:${iterationId}:${purpose}:${attempt}`;
}

/**
 * What a tenant used in a time window: LLM calls, tokens of every kind, and cost. Cosmos leaves a SUM over no
 * documents out of its row, hence the defaults.
 */
const windowTotalsSchema = z.object({
  requests: z.number().int().nonnegative().default(0),
  tokens: z.number().int().nonnegative().default(0),
  costMicroUsd: z.number().int().nonnegative().default(0),
});
export type WindowTotals = z.infer<typeof windowTotalsSchema>;

export class UsageRepository {
  constructor(private readonly store: CosmosStore) {}

  async record(record: UsageRecord): Promise<void> {
    await this.store.upsert('usage', record);
  }

  /** One call's record, by its id (`usageRecordId`). */
  async find(tenantId: string, id: string): Promise<UsageRecord | undefined> {
    return (await this.store.read('usage', id, tenantId, usageRecordSchema))?.document;
  }

  /** The job's usage: the sum of its call records, in exact micro-dollars. */
  async jobTotals(tenantId: string, jobId: string): Promise<Usage> {
    let usage = emptyUsage();
    for await (const record of this.store.queryAll(
      'usage',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'usage' AND c.jobId = @jobId",
      { tenantId, jobId },
      usageRecordSchema,
    )) {
      usage = addCall(usage, record, record.costMicroUsd);
    }
    return usage;
  }

  /**
   * The tenant's totals over `[from, to)`, summed by Cosmos in one aggregate query: one row comes back
   * however many calls the window holds.
   */
  async windowTotals(tenantId: string, from: Date, to: Date): Promise<WindowTotals> {
    for await (const row of this.store.queryAll(
      'usage',
      "SELECT COUNT(1) AS requests, SUM(c.inputTokens + c.outputTokens + c.cacheCreationInputTokens + c.cacheReadInputTokens) AS tokens, SUM(c.costMicroUsd) AS costMicroUsd FROM c WHERE c.tenantId = @tenantId AND c.type = 'usage' AND c.at >= @from AND c.at < @to",
      { tenantId, from: from.toISOString(), to: to.toISOString() },
      windowTotalsSchema,
    )) {
      return row;
    }
    return { requests: 0, tokens: 0, costMicroUsd: 0 };
  }

  /** A user's usage between two days (inclusive, `YYYY-MM-DD`). */
  async userTotals(
    tenantId: string,
    userId: string,
    fromDay: string,
    toDay: string,
  ): Promise<Usage & { calls: number }> {
    let usage = emptyUsage();
    let calls = 0;
    for await (const record of this.store.queryAll(
      'usage',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'usage' AND c.userId = @userId AND c.day >= @fromDay AND c.day <= @toDay",
      { tenantId, userId, fromDay, toDay },
      usageRecordSchema,
    )) {
      usage = addCall(usage, record, record.costMicroUsd);
      calls++;
    }
    return { ...usage, calls };
  }
}

export interface UsageContext {
  tenantId: string;
  userId: string;
  jobId: string;
  now?: () => Date;
}

/**
 * Wraps an LLM port so that every answered call is recorded, with the cost its adapter priced, before the
 * engine sees the answer, an unusable answer too (the provider billed it). A call that fails unanswered records
 * nothing here (the provider bills nothing for a failed request).
 */
export function recordingLlm(llm: LlmPort, usage: UsageRepository, context: UsageContext): LlmPort {
  const now = context.now ?? (() => new Date());
  const record = async (request: StructuredRequest<unknown>, answer: PricedAnswer, at: Date) => {
    const iso = at.toISOString();
    await usage.record({
      id: usageRecordId(
        context.jobId,
        request.purpose.iterationId,
        request.purpose.kind,
        request.purpose.attempt,
      ),
      tenantId: context.tenantId,
      userId: context.userId,
      type: 'usage',
      jobId: context.jobId,
      iterationId: request.purpose.iterationId,
      purpose: request.purpose.kind,
      attempt: request.purpose.attempt,
      model: answer.model,
      provider: llm.provider,
      at: iso,
      day: iso.slice(0, 10),
      month: iso.slice(0, 7),
      inputTokens: answer.usage.inputTokens,
      outputTokens: answer.usage.outputTokens,
      cacheCreationInputTokens: answer.usage.cacheCreationInputTokens,
      cacheReadInputTokens: answer.usage.cacheReadInputTokens,
      costMicroUsd: answer.costMicroUsd,
    });
  };
  return wrapGenerate(llm, async <T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> => {
    const at = now();
    let response: StructuredResponse<T>;
    try {
      response = await llm.generate(request);
    } catch (error: unknown) {
      if (error instanceof UnusableAnswerError) await record(request, error, at);
      throw error;
    }
    await record(request, response, at);
    return response;
  });
}
