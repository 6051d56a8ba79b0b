import { describe, expect, it } from 'vitest';
import type { UsageRecord } from '../jobs/usage-records';
import { csvHeader, toCsvLine } from './usage-reports';
import { formatMicroUsd } from './usage-service';

const record: UsageRecord = {
  id: 'usage:job-1:validation:iteration:1',
  tenantId: 'acme, "north"',
  userId: 'alice',
  type: 'usage',
  jobId: 'job-1',
  iterationId: 'validation',
  purpose: 'iteration',
  attempt: 1,
  model: 'claude-sonnet-5-5',
  provider: 'anthropic',
  at: '2026-11-22T12:00:00.000Z',
  day: '2026-11-22',
  month: '2026-11',
  inputTokens: 10,
  outputTokens: 20,
  cacheCreationInputTokens: 0,
  cacheReadInputTokens: 5,
  costMicroUsd: 1234,
};

describe('CSV export', () => {
  it('writes one RFC 4180 line per record, quoting cells with commas and quotes', () => {
    expect(csvHeader.startsWith('id,tenantId,userId,jobId,')).toBe(true);
    expect(toCsvLine(record)).toBe(
      'usage:job-1:validation:iteration:1,"acme, ""north""",alice,job-1,validation,iteration,1,claude-sonnet-5-5,anthropic,2026-11-22T12:00:00.000Z,2026-11-22,2026-11,10,20,0,5,1234\r\n',
    );
    expect(csvHeader.split(',')).toHaveLength(toCsvLine({ ...record, tenantId: 'acme' }).split(',').length);
  });
});

describe('formatMicroUsd', () => {
  it('writes micro-dollars as exact decimal dollars', () => {
    expect(formatMicroUsd(0)).toBe('0.000000');
    expect(formatMicroUsd(1_234_567)).toBe('1.234567');
    expect(formatMicroUsd(42)).toBe('0.000042');
  });
});
