import { describe, expect, it } from 'vitest';
import { isHourStart, lastFullHour, usageAlertId } from './usage-alert';

describe('usage alert hours and ids', () => {
  it('takes the hour before the current one as the last full hour, also right on the hour', () => {
    expect(lastFullHour(new Date('2026-03-10T10:05:00.000Z')).toISOString()).toBe('2026-03-10T09:00:00.000Z');
    expect(lastFullHour(new Date('2026-03-10T10:00:00.000Z')).toISOString()).toBe('2026-03-10T09:00:00.000Z');
    expect(lastFullHour(new Date('2026-03-11T00:59:59.999Z')).toISOString()).toBe('2026-03-10T23:00:00.000Z');
    expect(isHourStart(new Date('2026-03-10T09:00:00.000Z'))).toBe(true);
    expect(isHourStart(new Date('2026-03-10T09:00:00.001Z'))).toBe(false);
  });

  it('derives one id per tenant, hour and metric, the same on every scan', () => {
    const hour = new Date('2026-03-10T09:00:00.000Z');
    const id = usageAlertId('acme', hour, 'requests');
    expect(id).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(usageAlertId('acme', new Date(hour.getTime()), 'requests')).toBe(id);
    const others = [
      usageAlertId('globex', hour, 'requests'),
      usageAlertId('acme', new Date('2026-03-10T10:00:00.000Z'), 'requests'),
      usageAlertId('acme', hour, 'tokens'),
    ];
    expect(new Set([id, ...others]).size).toBe(4);
  });
});
