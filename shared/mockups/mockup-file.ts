import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultModels } from '../engine/catalog';
import { addCall, emptyUsage, type Usage } from '../engine/iteration-result';
import { buildMockupRequest, type MockupInventory } from '../engine/mockup-inventory';
import { AppError } from '../errors';
import type { LlmPort } from '../llm/port';
import { costMicroUsd } from '../llm/pricing';
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
 * A mockup file read in-process (the CLI's `--mockup`): checked exactly as the blob trigger checks uploads,
 * then read into an inventory by one LLM call, whose usage is returned with it.
 */
export async function readMockupFile(
  file: string,
  llm: LlmPort,
  model: string = defaultModels.standard,
  now: () => Date = () => new Date(),
): Promise<{ inventory: MockupInventory; usage: Usage }> {
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
  const at = now();
  const response = await llm.generate(
    buildMockupRequest({
      uploadId: fileName.toLowerCase().replace(/[^a-z0-9-]+/g, '-'),
      fileName,
      attachment: attachmentFor(contentType, fileName, bytes),
      model,
      attempt: 1,
    }),
  );
  return {
    inventory: { ...response.output, uploadId: fileName, fileName, contentType },
    usage: addCall(emptyUsage(), response.usage, costMicroUsd(response.model, response.usage, at)),
  };
}
