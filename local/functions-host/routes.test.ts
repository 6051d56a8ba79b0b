import { describe, expect, it } from 'vitest';
import { RouteTable } from './routes';

describe('RouteTable', () => {
  const table = new RouteTable<string>();
  table.add('api/v1/jobs/{jobId}', ['GET', 'DELETE'], 'job');
  table.add('api/v1/jobs/{jobId}/stream', ['GET'], 'stream');
  table.add('api/v1/jobs/current', ['GET'], 'current');
  table.add('files/{*path}', ['GET'], 'files');
  table.add('items/{id:int}/{detail?}', ['GET'], 'item');

  it('extracts parameters, decoded', () => {
    expect(table.match('GET', '/api/v1/jobs/a%20b')).toEqual({ target: 'job', params: { jobId: 'a b' } });
  });

  it('keeps a malformed percent escape as sent instead of failing the request', () => {
    expect(table.match('GET', '/api/v1/jobs/%ZZ')).toEqual({ target: 'job', params: { jobId: '%ZZ' } });
    expect(table.match('GET', '/files/a/%E0%A4%A')).toEqual({
      target: 'files',
      params: { path: 'a/%E0%A4%A' },
    });
  });

  it('prefers literal segments over parameters regardless of registration order', () => {
    expect(table.match('GET', '/api/v1/jobs/current')).toMatchObject({ target: 'current' });
  });

  it('matches case-insensitively on literals and ignores trailing slashes', () => {
    expect(table.match('get', '/API/v1/Jobs/x/stream/')).toMatchObject({
      target: 'stream',
      params: { jobId: 'x' },
    });
  });

  it('supports catch-all, constrained and optional parameters', () => {
    expect(table.match('GET', '/files/a/b/c.txt')).toEqual({
      target: 'files',
      params: { path: 'a/b/c.txt' },
    });
    expect(table.match('GET', '/items/12')).toEqual({ target: 'item', params: { id: '12' } });
    expect(table.match('GET', '/items/12/full')).toEqual({
      target: 'item',
      params: { id: '12', detail: 'full' },
    });
    expect(table.match('GET', '/items/twelve')).toBeUndefined();
  });

  it('tells an unknown path from a known path with the wrong method', () => {
    expect(table.match('GET', '/nothing/here')).toBeUndefined();
    expect(table.match('POST', '/api/v1/jobs/x')).toBe('method_not_allowed');
  });
});
