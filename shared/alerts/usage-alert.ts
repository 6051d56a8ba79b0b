import { createHash } from 'node:crypto';
import { z } from 'zod';
import { anomalyMetrics, type AnomalyMetric } from './anomaly-detector';

/** One hour in milliseconds: the scan's unit of time. */
export const hourMs = 3_600_000;

/** The start of the last full UTC hour before `now`: what the hourly scan looks at. */
export function lastFullHour(now: Date): Date {
  return new Date(Math.floor(now.getTime() / hourMs) * hourMs - hourMs);
}

/** True when `at` is the start of a UTC hour. */
export function isHourStart(at: Date): boolean {
  return at.getTime() % hourMs === 0;
}

/**
 * An alert's id, derived from what it is about, so every scan of the same hour (a re-run, a second host)
 * arrives at the same id and Cosmos lets only one of them create it.
 */
export function usageAlertId(tenantId: string, hour: Date, metric: AnomalyMetric): string {
  return createHash('sha256')
    .update(`${tenantId}\n${hour.toISOString()}\n${metric}`)
    .digest('base64url')
    .slice(0, 24);
}

export const anomalyMetricSchema = z
  .enum(anomalyMetrics)
  .describe(
    'requests: LLM calls; tokens: all tokens of those calls; costMicroUsd: their cost in micro-dollars.',
  );

export const alertSeveritySchema = z
  .enum(['warning', 'critical'])
  .describe('critical: the hour reached twice the threshold or more.');

/**
 * A usage anomaly, stored in the tenant's partition of the `alerts` container, and copied into the platform
 * partition (`tenantId` `_platform`, `alertTenantId` the tenant) so platform admins read one feed of every
 * tenant's alerts with a partition-scoped query.
 */
export const usageAlertDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('usageAlert'),
  alertId: z.string(),
  /** The tenant the alert is about. */
  alertTenantId: z.string(),
  metric: anomalyMetricSchema,
  /** Start of the UTC hour that was anomalous. */
  hour: z.iso.datetime(),
  observed: z.number(),
  median: z.number(),
  mad: z.number(),
  threshold: z.number(),
  baselineDays: z.number().int(),
  severity: alertSeveritySchema,
  detectedAt: z.iso.datetime(),
  /** When the scan raising it took it on; another scan takes over only once this is stale. */
  claimedAt: z.iso.datetime(),
  /** Set once the audit record, webhook event and telemetry are done. */
  raisedAt: z.iso.datetime().optional(),
  auditSeq: z.number().int().optional(),
});
export type UsageAlertDocument = z.infer<typeof usageAlertDocumentSchema>;

export const usageAlertViewSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  metric: anomalyMetricSchema,
  hour: z.iso.datetime().describe('Start of the anomalous UTC hour.'),
  observed: z.number().describe('What the tenant used in that hour.'),
  baseline: z
    .object({
      median: z.number(),
      mad: z.number().describe('Median absolute deviation from the median.'),
      days: z.number().int().describe('Earlier days whose same hour formed the baseline.'),
    })
    .describe('The same hour on the trailing days.'),
  threshold: z.number().describe('Above this the hour was anomalous.'),
  severity: alertSeveritySchema,
  detectedAt: z.iso.datetime(),
});
export type UsageAlertView = z.infer<typeof usageAlertViewSchema>;

export function toUsageAlertView(document: UsageAlertDocument): UsageAlertView {
  return {
    id: document.alertId,
    tenantId: document.alertTenantId,
    metric: document.metric,
    hour: document.hour,
    observed: document.observed,
    baseline: { median: document.median, mad: document.mad, days: document.baselineDays },
    threshold: document.threshold,
    severity: document.severity,
    detectedAt: document.detectedAt,
  };
}

export const alertsQuerySchema = z.object({
  tenantId: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Whose alerts; default: your own tenant, or every tenant for platform admins.'),
  from: z.iso.datetime({ offset: true }).optional().describe('Alerts for hours at or after this instant.'),
  to: z.iso.datetime({ offset: true }).optional().describe('Alerts for hours before this instant.'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(4000).optional().describe('nextCursor of the previous page.'),
});
export type AlertsQuery = z.infer<typeof alertsQuerySchema>;

export const scanBodySchema = z.object({
  hour: z.iso
    .datetime({ offset: true })
    .describe('Start of the UTC hour to scan, e.g. 2026-03-10T09:00:00Z; it must have ended.'),
  tenantId: z.string().min(1).max(200).optional().describe('Only this tenant; default: every tenant.'),
});
export type ScanBody = z.infer<typeof scanBodySchema>;

export const scanResultSchema = z.object({
  hour: z.iso.datetime(),
  tenantsScanned: z.number().int(),
  anomalies: z.array(usageAlertViewSchema).describe('Every anomaly of the hour, raised now or before.'),
  raised: z.number().int().describe('How many of them this scan raised (the others were raised before).'),
});
export type ScanResult = z.infer<typeof scanResultSchema>;
