import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { png, svg } from '../../test/support/mockup-files';
import type { UploadBlobs } from '../adapters/upload-blobs';
import { uploadBlobName, type UploadDocument } from './upload';
import { UploadChecker } from './upload-checker';

/** One upload record and its blob, in memory; `failDeletes` makes the next deletes throw like a crash would. */
function world(bytes: Buffer, contentType: UploadDocument['contentType']) {
  const blobName = uploadBlobName('acme', 'u1', 'mockup.png');
  let record: UploadDocument = {
    id: 'u1',
    tenantId: 'acme',
    type: 'upload',
    userId: 'alice',
    fileName: 'mockup.png',
    contentType,
    sizeBytes: bytes.length,
    blobName,
    status: 'pending',
    createdAt: '2026-01-01T00:00:00.000Z',
    uploadExpiresAt: '2026-01-01T00:05:00.000Z',
  };
  const state = { blobEtag: 'etag-1' as string | undefined, failDeletes: 0, writes: 0 };
  const blobs: UploadBlobs = {
    createOnceUrl: () => Promise.reject(new Error('not used')),
    read: () => Promise.reject(new Error('not used')),
    etag: () => Promise.resolve(state.blobEtag),
    delete: () => {
      if (state.failDeletes > 0) {
        state.failDeletes--;
        return Promise.reject(new Error('process died'));
      }
      state.blobEtag = undefined;
      return Promise.resolve();
    },
  };
  const uploads = {
    find: (tenantId: string, id: string) =>
      Promise.resolve(tenantId === record.tenantId && id === record.id ? record : undefined),
    update: (
      _tenantId: string,
      _id: string,
      change: (current: UploadDocument) => UploadDocument | undefined,
    ) => {
      const next = change(record);
      if (next) {
        record = next;
        state.writes++;
      }
      return Promise.resolve(record);
    },
  };
  const checker = new UploadChecker({ uploads, blobs, logger: pino({ level: 'silent' }) });
  return { checker, blobName, state, record: () => record };
}

describe('UploadChecker', () => {
  it('decides once: a second run for the same blob changes nothing', async () => {
    const { checker, blobName, state, record } = world(png(10, 10), 'image/png');
    expect(await checker.check(blobName, png(10, 10))).toBe('ready');
    const decided = record();
    expect(await checker.check(blobName, png(10, 10))).toBe('already_decided');
    expect(record()).toBe(decided);
    expect(state.writes).toBe(1);
    expect(state.blobEtag).toBe('etag-1');
  });

  it('finishes a rejection cut off between recording it and deleting the blob', async () => {
    const bytes = svg('<script>alert(1)</script>');
    const { checker, blobName, state, record } = world(bytes, 'image/svg+xml');
    state.failDeletes = 1;
    await expect(checker.check(blobName, bytes)).rejects.toThrow('process died');
    expect(record()).toMatchObject({ status: 'rejected', reason: 'svg_script', checkedEtag: 'etag-1' });
    expect(state.blobEtag).toBe('etag-1');
    expect(await checker.check(blobName, bytes)).toBe('already_decided');
    expect(state.blobEtag).toBeUndefined();
    expect(state.writes).toBe(1);
  });

  it('deletes a blob that belongs to no upload', async () => {
    const { checker, state } = world(png(4, 4), 'image/png');
    expect(await checker.check('acme/unknown/x.png', png(4, 4))).toBe('orphan_deleted');
    expect(state.blobEtag).toBeUndefined();
  });

  it('deletes a new blob version at a decided upload’s path and withdraws the ready upload', async () => {
    const { checker, blobName, state, record } = world(png(10, 10), 'image/png');
    await checker.check(blobName, png(10, 10));
    state.blobEtag = 'etag-2';
    expect(await checker.check(blobName, png(20, 20))).toBe('replaced_deleted');
    expect(record()).toMatchObject({ status: 'rejected', reason: 'blob_replaced' });
    expect(state.blobEtag).toBeUndefined();
  });
});
