/**
 * Usage anomaly rule, pure: one tenant's last hour against the same hour of the trailing days (14 by
 * default). Robust statistics, so one earlier spike does not hide the next: the baseline is the median, its
 * spread the median absolute deviation (scaled by 1.4826 to match a standard deviation on normal data). An
 * hour is anomalous in a metric when it exceeds `median + k * spread` AND an absolute floor, with the spread
 * itself floored, so a quiet tenant (all zeros) running its first job is not an anomaly.
 */
export const anomalyMetrics = ['requests', 'tokens', 'costMicroUsd'] as const;
export type AnomalyMetric = (typeof anomalyMetrics)[number];
export type HourlyUsage = Record<AnomalyMetric, number>;

export interface AnomalyRule {
  /** How many spreads above the median count as anomalous. */
  k: number;
  /** Below these an hour is never anomalous, whatever its baseline. */
  floors: HourlyUsage;
  /** The spread is at least this share of the median (a perfectly steady tenant still has headroom). */
  minRelativeSpread: number;
  /** Fewer days of history than this: too little to judge. */
  minHistory: number;
}

export const defaultAnomalyRule: AnomalyRule = {
  k: 6,
  floors: { requests: 20, tokens: 200_000, costMicroUsd: 1_000_000 },
  minRelativeSpread: 0.25,
  minHistory: 3,
};

export interface MetricFinding {
  metric: AnomalyMetric;
  value: number;
  median: number;
  /** The median absolute deviation of the baseline, unscaled. */
  mad: number;
  /** The spread the threshold was built from: the scaled MAD, floored. */
  spread: number;
  threshold: number;
}

export type AnomalySeverity = 'warning' | 'critical';

/** `critical` at twice the threshold or more: far outside anything the floors or the spread explain. */
export function severityOf(finding: Pick<MetricFinding, 'value' | 'threshold'>): AnomalySeverity {
  return finding.value >= 2 * finding.threshold ? 'critical' : 'warning';
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The metrics in which `current` is anomalous against `baseline` (the same hour on earlier days). */
export function findAnomalies(
  current: HourlyUsage,
  baseline: readonly HourlyUsage[],
  rule: AnomalyRule = defaultAnomalyRule,
): MetricFinding[] {
  if (baseline.length < rule.minHistory) return [];
  return anomalyMetrics.flatMap((metric) => {
    const values = baseline.map((hour) => hour[metric]);
    const middle = median(values);
    const mad = median(values.map((value) => Math.abs(value - middle)));
    const spread = Math.max(1.4826 * mad, rule.minRelativeSpread * middle, 1);
    const threshold = Math.max(middle + rule.k * spread, rule.floors[metric]);
    const value = current[metric];
    return value > threshold ? [{ metric, value, median: middle, mad, spread, threshold }] : [];
  });
}
