import { describe, expect, it } from 'vitest';
import { parseBlobPath } from './blob-trigger';
import { parseSchedule } from './timer-trigger';

describe('timer schedules', () => {
  it('reads six-field NCRONTAB in UTC, seconds first', () => {
    const next = parseSchedule('0 */5 * * * *').next(new Date('2026-11-22T10:02:30Z'));
    expect(next.toISOString()).toBe('2026-11-22T10:05:00.000Z');
  });

  it('reads TimeSpan periods, with an optional day part', () => {
    const from = new Date('2026-11-22T10:00:00Z');
    expect(parseSchedule('00:00:30').next(from).toISOString()).toBe('2026-11-22T10:00:30.000Z');
    expect(parseSchedule('1.02:00:00').next(from).toISOString()).toBe('2026-11-23T12:00:00.000Z');
  });

  it('rejects five-field cron, which the Functions host does not accept', () => {
    expect(() => parseSchedule('*/5 * * * *')).toThrow();
  });
});

describe('blob trigger paths', () => {
  it('splits container, list prefix and named parts', () => {
    const path = parseBlobPath('uploads/{tenantId}/{uploadId}/{name}');
    expect(path.container).toBe('uploads');
    expect(path.prefix).toBe('');
    expect(path.names).toEqual(['tenantId', 'uploadId', 'name']);
    expect(path.pattern.test('t1/u1/mock.png')).toBe(true);
  });

  it('keeps literal text literal', () => {
    const path = parseBlobPath('incoming/images/{name}.png');
    expect(path.prefix).toBe('images/');
    expect(path.pattern.test('images/a.png')).toBe(true);
    expect(path.pattern.test('images/a.jpg')).toBe(false);
    expect(path.pattern.test('imagesXa.png')).toBe(false);
  });
});
