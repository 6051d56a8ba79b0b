import { describe, expect, it } from 'vitest';
import { findAnomalies, severityOf, type HourlyUsage } from './anomaly-detector';

const hour = (
  requests: number,
  tokens = requests * 20_000,
  costMicroUsd = requests * 100_000,
): HourlyUsage => ({
  requests,
  tokens,
  costMicroUsd,
});

/** A seeded history: the same hour on 14 days, with day-to-day noise. */
const steady = [30, 34, 28, 31, 36, 29, 33, 30, 32, 27, 35, 31, 30, 33].map((requests) => hour(requests));

describe('usage anomaly rule', () => {
  it('flags a spike in every metric it shows in', () => {
    const findings = findAnomalies(hour(400), steady);
    expect(findings.map((finding) => finding.metric)).toEqual(['requests', 'tokens', 'costMicroUsd']);
    expect(findings[0]).toMatchObject({ value: 400, median: 31, mad: 2 });
    expect(findings.map(severityOf)).toEqual(['critical', 'critical', 'critical']);
  });

  it('calls a finding critical from twice its threshold, a warning below', () => {
    // Median 31, spread 7.75 (a quarter of the median, above 1.4826 * MAD): threshold 31 + 6 * 7.75 = 77.5.
    const [requests] = findAnomalies(hour(100), steady);
    expect(requests).toMatchObject({ metric: 'requests', value: 100, threshold: 77.5 });
    expect(severityOf(requests!)).toBe('warning');
    expect(severityOf({ value: 155, threshold: 77.5 })).toBe('critical');
  });

  it('never flags a steady tenant, including its own busiest ordinary hours', () => {
    for (const day of steady) expect(findAnomalies(day, steady)).toEqual([]);
    expect(findAnomalies(hour(45), steady)).toEqual([]);
  });

  it('does not flag a quiet tenant’s first job (floors), nor judge without enough history', () => {
    const quiet = Array.from({ length: 14 }, () => hour(0));
    expect(findAnomalies(hour(3), quiet)).toEqual([]);
    expect(findAnomalies(hour(400), steady.slice(0, 2))).toEqual([]);
  });

  it('is not blinded by an earlier spike in the baseline (median, not mean)', () => {
    const withSpike = [...steady.slice(0, 13), hour(5_000)];
    expect(findAnomalies(hour(400), withSpike).map((finding) => finding.metric)).toContain('requests');
  });
});
