import type { UploadBlobs } from '../adapters/upload-blobs';
import type { MockupSource } from '../engine/mockup-inventory';
import { MAX_UPLOAD_BYTES } from '../uploads/upload';
import type { UploadRepository } from '../uploads/upload-repository';
import { attachmentFor } from './attachments';

/**
 * A tenant's checked uploads as the mockups of its jobs: only a `ready` upload of that tenant is read; one
 * deleted since the job was created (retention) reads as gone.
 */
export function uploadMockupSource(
  uploads: Pick<UploadRepository, 'find'>,
  blobs: Pick<UploadBlobs, 'read'>,
  tenantId: string,
): MockupSource {
  return {
    async read(uploadId) {
      const upload = await uploads.find(tenantId, uploadId);
      if (upload?.status !== 'ready') return undefined;
      const bytes = await blobs.read(upload.blobName, MAX_UPLOAD_BYTES);
      if (!bytes) return undefined;
      return {
        id: upload.id,
        fileName: upload.fileName,
        contentType: upload.contentType,
        attachment: attachmentFor(upload.contentType, upload.fileName, bytes),
      };
    },
  };
}
