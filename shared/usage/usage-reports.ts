import { z } from 'zod';
import type { CosmosStore } from '../adapters/cosmos-store';
import { addCall, emptyUsage, usageSchema, type Usage } from '../engine/iteration-result';
import { usageRecordSchema, type UsageRecord } from '../jobs/usage-records';

/** `YYYY-MM`, a UTC month. */
export const monthSchema = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'YYYY-MM');

export const usageTotalsSchema = usageSchema.extend({ calls: z.number().int().nonnegative() });
export type UsageTotals = z.infer<typeof usageTotalsSchema>;

export const tenantUsageReportSchema = z.object({
  tenantId: z.string(),
  month: z.string(),
  total: usageTotalsSchema,
  byUser: z.array(usageTotalsSchema.extend({ userId: z.string() })),
  byDay: z.array(usageTotalsSchema.extend({ day: z.string() })),
});
export type TenantUsageReport = z.infer<typeof tenantUsageReportSchema>;

/** The columns of the CSV export, in order: every field of a usage record. */
export const exportColumns = [
  'id',
  'tenantId',
  'userId',
  'jobId',
  'iterationId',
  'purpose',
  'attempt',
  'model',
  'provider',
  'at',
  'day',
  'month',
  'inputTokens',
  'outputTokens',
  'cacheCreationInputTokens',
  'cacheReadInputTokens',
  'costMicroUsd',
] as const satisfies readonly (keyof UsageRecord)[];

function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One usage record as a CSV line (with CRLF, RFC 4180). */
export function toCsvLine(record: UsageRecord): string {
  return `${exportColumns.map((column) => csvCell(record[column])).join(',')}\r\n`;
}

export const csvHeader = `${exportColumns.join(',')}\r\n`;

const add = (totals: UsageTotals, record: UsageRecord): UsageTotals => ({
  ...addCall(totals, record, record.costMicroUsd),
  calls: totals.calls + 1,
});
const emptyTotals = (): UsageTotals => ({ ...emptyUsage(), calls: 0 });

/**
 * Reports built from the usage records alone (one per LLM call, priced once), so every total (job, day,
 * user, month, export) is a sum of the same integers and they agree to the micro-dollar. Cosmos here has no
 * GROUP BY, so sums are taken in code over a tenant-filtered query.
 */
export class UsageReports {
  constructor(private readonly store: CosmosStore) {}

  /** Every usage record of one tenant for one month. */
  records(tenantId: string, month: string): AsyncGenerator<UsageRecord> {
    return this.store.queryAll(
      'usage',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'usage' AND c.month = @month ORDER BY c.at",
      { tenantId, month },
      usageRecordSchema,
    );
  }

  /** A tenant's month: the total, by user and by day. */
  async tenantMonth(tenantId: string, month: string): Promise<TenantUsageReport> {
    let total = emptyTotals();
    const byUser = new Map<string, UsageTotals>();
    const byDay = new Map<string, UsageTotals>();
    for await (const record of this.records(tenantId, month)) {
      total = add(total, record);
      byUser.set(record.userId, add(byUser.get(record.userId) ?? emptyTotals(), record));
      byDay.set(record.day, add(byDay.get(record.day) ?? emptyTotals(), record));
    }
    const sorted = <T>(map: Map<string, T>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return {
      tenantId,
      month,
      total,
      byUser: sorted(byUser).map(([userId, totals]) => ({ userId, ...totals })),
      byDay: sorted(byDay).map(([day, totals]) => ({ day, ...totals })),
    };
  }

  /** The tenant's spend this month, from its usage records. */
  async tenantMonthTotal(tenantId: string, month: string): Promise<Usage> {
    return (await this.tenantMonth(tenantId, month)).total;
  }

  /** Every usage record of `month` across the given tenants, as CSV or JSON Lines text chunks. */
  async *export(
    tenantIds: AsyncIterable<string>,
    month: string,
    format: 'csv' | 'jsonl',
  ): AsyncGenerator<string> {
    if (format === 'csv') yield csvHeader;
    for await (const tenantId of tenantIds) {
      for await (const record of this.records(tenantId, month)) {
        yield format === 'csv' ? toCsvLine(record) : `${JSON.stringify(record)}\n`;
      }
    }
  }
}
