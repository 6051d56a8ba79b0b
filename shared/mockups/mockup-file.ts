import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { MockupFile } from '../engine/mockup-inventory';
import { AppError } from '../errors';
import { inspectFile } from '../uploads/inspection/inspect-file';
import {
  uploadContentTypeSchema,
  safeFileName,
  uploadContentTypes,
  type UploadContentType,
} from '../uploads/upload';
import { attachmentFor } from './attachments';

/** The upload type a file's extension stands for (`.jpeg` too); checked against its bytes afterwards. */
function contentTypeOf(extension: string): UploadContentType | undefined {
  if (extension === 'jpeg') return 'image/jpeg';
  return uploadContentTypeSchema.options.find((type) => uploadContentTypes[type] === extension);
}

/**
 * A mockup file read in-process (the CLI's `--mockup`), checked exactly as the blob trigger checks uploads;
 * the workflow then reads it into an inventory like a job's upload.
 */
export async function readMockupFile(file: string): Promise<MockupFile> {
  const extension = path.extname(file).slice(1).toLowerCase();
  const contentType = contentTypeOf(extension);
  if (!contentType) {
    throw new AppError('unsupported_media_type', `${file}: mockups must be .png, .jpg, .pdf or .svg files.`);
  }
  const bytes = await readFile(file);
  const inspection = await inspectFile(bytes, { contentType, sizeBytes: bytes.length });
  if (inspection.verdict === 'rejected') {
    throw new AppError('validation_failed', `${file} rejected: ${inspection.detail} (${inspection.reason})`);
  }
  const fileName = safeFileName(path.basename(file), contentType);
  return {
    // Ids name calls on the wire (lowercase letters, digits and dashes), like upload ids.
    id: fileName.toLowerCase().replace(/[^a-z0-9-]+/g, '-'),
    fileName,
    contentType,
    attachment: attachmentFor(contentType, fileName, bytes),
  };
}
