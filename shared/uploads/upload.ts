import { z } from 'zod';

/** The contract's per-file ceiling; a plan may lower it (`maxUploadBytes`), never raise it. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** The contract's ceiling on the uploads one job may reference, together. */
export const MAX_JOB_UPLOAD_BYTES = 50 * 1024 * 1024;
/** Retention of uploads when the plan sets none (the contract's default). */
export const DEFAULT_UPLOAD_RETENTION_DAYS = 30;

/** Declared content types the service accepts, each with the extension its stored file name gets. */
export const uploadContentTypes = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'application/pdf': 'pdf',
  'image/svg+xml': 'svg',
} as const;
export type UploadContentType = keyof typeof uploadContentTypes;
export const uploadContentTypeSchema = z.enum(
  Object.keys(uploadContentTypes) as [UploadContentType, ...UploadContentType[]],
);

export function isUploadContentType(value: string): value is UploadContentType {
  return Object.hasOwn(uploadContentTypes, value);
}

export const uploadStatusSchema = z.enum(['pending', 'ready', 'rejected']);
export type UploadStatus = z.infer<typeof uploadStatusSchema>;

/**
 * Why a file was rejected: stable codes clients can branch on (the `reason` of an upload). `detail` says
 * more in words.
 */
export const rejectionReasons = [
  'empty_file',
  'size_mismatch',
  'too_large',
  'unsupported_type',
  'type_mismatch',
  'polyglot',
  'malformed_image',
  'image_too_large',
  'malformed_pdf',
  'pdf_encrypted',
  'pdf_javascript',
  'pdf_embedded_file',
  'pdf_external_action',
  'pdf_too_many_pages',
  'malformed_svg',
  'svg_doctype',
  'svg_script',
  'svg_event_handler',
  'svg_foreign_object',
  'svg_external_reference',
  'blob_replaced',
  'not_uploaded',
  'not_checked',
] as const;
export const rejectionReasonSchema = z.enum(rejectionReasons);
export type RejectionReason = z.infer<typeof rejectionReasonSchema>;

/** What checking a file found out about it, kept on the upload for jobs and clients. */
export const fileFactsSchema = z.object({
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  pages: z.number().int().positive().optional(),
});
export type FileFacts = z.infer<typeof fileFactsSchema>;

/** An upload as stored in Cosmos (`uploads` container, partition = tenant). */
export const uploadDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('upload'),
  userId: z.string(),
  /** The stored name: the client's name made safe, with the declared type's extension. */
  fileName: z.string(),
  contentType: uploadContentTypeSchema,
  sizeBytes: z.number().int().positive(),
  /** `<tenant>/<uploadId>/<fileName>` inside the uploads container. */
  blobName: z.string(),
  status: uploadStatusSchema,
  reason: rejectionReasonSchema.optional(),
  detail: z.string().optional(),
  facts: fileFactsSchema.optional(),
  /** ETag of the blob version the check decided on: a trigger re-run for the same version changes nothing. */
  checkedEtag: z.string().optional(),
  createdAt: z.string(),
  /** When the upload URL stops working. */
  uploadExpiresAt: z.string(),
  checkedAt: z.string().optional(),
});
export type UploadDocument = z.infer<typeof uploadDocumentSchema>;

export const createUploadBodySchema = z.object({
  fileName: z
    .string()
    .min(1)
    .max(255)
    .describe('The file’s name; stored made safe (letters, digits, dot, dash, underscore).'),
  contentType: z
    .string()
    .min(1)
    .max(100)
    .describe('image/png, image/jpeg, application/pdf or image/svg+xml; anything else is refused with 415.'),
  sizeBytes: z
    .number()
    .int()
    .positive()
    .describe('Exact size of the file in bytes: at most 10 MB, or less if the plan says so (else 413).'),
});
export type CreateUploadBody = z.infer<typeof createUploadBodySchema>;

export const uploadTicketSchema = z.object({
  uploadId: z.string(),
  uploadUrl: z
    .string()
    .describe(
      'SAS URL for one PUT of the file (header x-ms-blob-type: BlockBlob); it can create this blob once and nothing else.',
    ),
  expiresAt: z.string().describe('When the upload URL stops working (ISO 8601).'),
  method: z.literal('PUT'),
  headers: z.record(z.string(), z.string()).describe('Headers to send with the PUT.'),
});
export type UploadTicket = z.infer<typeof uploadTicketSchema>;

export const uploadViewSchema = z.object({
  uploadId: z.string(),
  status: uploadStatusSchema.describe(
    'pending until the file is uploaded and checked; then ready or rejected.',
  ),
  reason: rejectionReasonSchema.optional().describe('Why the file was rejected (stable code).'),
  detail: z.string().optional().describe('The rejection in words.'),
  fileName: z.string(),
  contentType: uploadContentTypeSchema,
  sizeBytes: z.number().int(),
  pages: z.number().int().optional().describe('PDF: page count.'),
  width: z.number().int().optional().describe('Images: width in pixels.'),
  height: z.number().int().optional().describe('Images: height in pixels.'),
  createdAt: z.string(),
  checkedAt: z.string().optional(),
});
export type UploadView = z.infer<typeof uploadViewSchema>;

export function toUploadView(upload: UploadDocument): UploadView {
  return {
    uploadId: upload.id,
    status: upload.status,
    ...(upload.reason ? { reason: upload.reason } : {}),
    ...(upload.detail ? { detail: upload.detail } : {}),
    fileName: upload.fileName,
    contentType: upload.contentType,
    sizeBytes: upload.sizeBytes,
    ...upload.facts,
    createdAt: upload.createdAt,
    ...(upload.checkedAt ? { checkedAt: upload.checkedAt } : {}),
  };
}

/**
 * The client's file name reduced to what is safe in a blob path, a header and a prompt: no directories, only
 * letters, digits, dot, dash and underscore, at most 100 characters, and the extension of the declared type
 * (so a `.html` name never reaches storage).
 */
export function safeFileName(fileName: string, contentType: UploadContentType): string {
  const base = fileName.split(/[\\/]/).pop() ?? '';
  const stem = base
    .normalize('NFKD')
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.-]+|[.-]+$/g, '')
    .slice(0, 90);
  return `${stem || 'upload'}.${uploadContentTypes[contentType]}`;
}

/**
 * A tenant id as one blob path segment: tenant ids are opaque claim values, so anything outside the
 * unreserved characters is percent-encoded and a `/` can never add a level.
 */
export function tenantPathSegment(tenantId: string): string {
  return encodeURIComponent(tenantId).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function uploadBlobName(tenantId: string, uploadId: string, fileName: string): string {
  return `${tenantPathSegment(tenantId)}/${uploadId}/${fileName}`;
}

/** Reads `<tenant>/<uploadId>/<fileName>` back; undefined for any other shape. */
export function parseUploadBlobName(
  blobName: string,
): { tenantId: string; uploadId: string; fileName: string } | undefined {
  const parts = blobName.split('/');
  if (parts.length !== 3 || parts.some((part) => part === '')) return undefined;
  const [segment = '', uploadId = '', fileName = ''] = parts;
  try {
    return { tenantId: decodeURIComponent(segment), uploadId, fileName };
  } catch {
    return undefined;
  }
}
