import type { Attachment } from '../llm/port';
import type { UploadContentType } from '../uploads/upload';

/**
 * How a checked mockup is shown to the model: PNG and JPEG as vision input, PDF as document input (the model
 * reads its pages), SVG as its markup in a text document, since vision input takes no SVG.
 */
export function attachmentFor(contentType: UploadContentType, fileName: string, bytes: Buffer): Attachment {
  switch (contentType) {
    case 'image/png':
    case 'image/jpeg':
      return { kind: 'image', mediaType: contentType, data: bytes.toString('base64'), title: fileName };
    case 'application/pdf':
      return { kind: 'pdf', data: bytes.toString('base64'), title: fileName };
    case 'image/svg+xml':
      return { kind: 'text', text: bytes.toString('utf8'), title: fileName };
  }
}
