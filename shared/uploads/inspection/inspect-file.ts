import { fileTypeFromBuffer } from 'file-type';
import { MAX_UPLOAD_BYTES, type UploadContentType } from '../upload';
import { inspectRasterImage } from './image-inspection';
import { rejected, type Inspection } from './inspection';
import { inspectPdf } from './pdf-inspection';
import { containsHtml, endsAsZip } from './polyglot';
import { inspectSvg } from './svg-inspection';

export type { Inspection } from './inspection';

/** What the client declared when it asked for the upload URL. */
export interface DeclaredFile {
  contentType: UploadContentType;
  sizeBytes: number;
}

/**
 * The type the bytes say, never the name or a header: file-type reads the magic numbers of the binary
 * formats; SVG has none, so text that starts like markup is taken as SVG and proven by the SVG parser.
 */
async function actualType(bytes: Buffer): Promise<string | undefined> {
  const detected = await fileTypeFromBuffer(bytes);
  if (detected && detected.mime !== 'application/xml') return detected.mime;
  const start = bytes
    .subarray(0, 512)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  return start.startsWith('<') ? 'image/svg+xml' : undefined;
}

/**
 * Decides whether an uploaded file may be used: size as declared (a SAS cannot limit what is PUT, so this is
 * where the declared length is enforced), type from the bytes and as declared, no polyglot, then the
 * type's own checks. Pure: the same bytes always get the same answer, so a re-run check is harmless.
 */
export async function inspectFile(bytes: Buffer, declared: DeclaredFile): Promise<Inspection> {
  if (bytes.length === 0) return rejected('empty_file', 'The file is empty.');
  if (bytes.length > MAX_UPLOAD_BYTES) {
    return rejected(
      'too_large',
      `The file is ${bytes.length} bytes; at most ${MAX_UPLOAD_BYTES} are accepted.`,
    );
  }
  if (bytes.length !== declared.sizeBytes) {
    return rejected(
      'size_mismatch',
      `The file is ${bytes.length} bytes, but ${declared.sizeBytes} were declared.`,
    );
  }
  const type = await actualType(bytes);
  if (type === undefined) return rejected('unsupported_type', 'The bytes are not PNG, JPEG, PDF or SVG.');
  if (type !== declared.contentType) {
    return rejected('type_mismatch', `Declared ${declared.contentType}, but the bytes are ${type}.`);
  }
  if (type !== 'image/svg+xml' && endsAsZip(bytes)) {
    return rejected('polyglot', 'The file is also a ZIP archive.');
  }
  switch (declared.contentType) {
    case 'image/png':
    case 'image/jpeg': {
      const marker = containsHtml(bytes);
      if (marker) return rejected('polyglot', `The image also contains HTML (${marker}).`);
      return inspectRasterImage(bytes, declared.contentType === 'image/png' ? 'png' : 'jpg');
    }
    case 'application/pdf':
      return inspectPdf(bytes);
    case 'image/svg+xml':
      return inspectSvg(bytes);
  }
}
