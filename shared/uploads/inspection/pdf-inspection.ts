import { PDFArray, PDFDict, PDFDocument, PDFName, PDFStream, type PDFObject } from 'pdf-lib';
import type { RejectionReason } from '../upload';
import { MAX_PDF_PAGES, ready, rejected, type Inspection } from './inspection';

/** Dictionary keys and name values that make a PDF run code or carry other files. */
const javascriptNames = new Set(['/JS', '/JavaScript', '/XFA']);
const embeddedFileNames = new Set(['/EmbeddedFile', '/EmbeddedFiles', '/FileAttachment']);
const externalActionNames = new Set(['/Launch', '/RichMedia', '/ImportData', '/SubmitForm']);

function classify(name: string): RejectionReason | undefined {
  if (javascriptNames.has(name)) return 'pdf_javascript';
  if (embeddedFileNames.has(name)) return 'pdf_embedded_file';
  if (externalActionNames.has(name)) return 'pdf_external_action';
  return undefined;
}

const pdfFindings: Partial<Record<RejectionReason, string>> = {
  pdf_javascript: 'The PDF contains JavaScript',
  pdf_embedded_file: 'The PDF carries embedded or attached files',
  pdf_external_action: 'The PDF contains an action that launches, imports or submits',
};

/** The first forbidden key or name value inside `object` (direct objects nest; indirect ones are visited on their own). */
function findForbidden(object: PDFObject, depth = 0): { reason: RejectionReason; name: string } | undefined {
  if (depth > 64) return undefined;
  if (object instanceof PDFName) {
    const reason = classify(object.asString());
    return reason && { reason, name: object.asString() };
  }
  const dict = object instanceof PDFStream ? object.dict : object instanceof PDFDict ? object : undefined;
  if (dict) {
    for (const [key, value] of dict.entries()) {
      const reason = classify(key.asString());
      if (reason) return { reason, name: key.asString() };
      const nested = findForbidden(value, depth + 1);
      if (nested) return nested;
    }
    return undefined;
  }
  if (object instanceof PDFArray) {
    for (const item of object.asArray()) {
      const nested = findForbidden(item, depth + 1);
      if (nested) return nested;
    }
  }
  return undefined;
}

/**
 * PDF: parsed with pdf-lib (which reads object streams and decodes `#xx` escapes in names, so hidden keys
 * are seen); encrypted files, JavaScript (document, page, annotation and form actions, XFA), launch and
 * submit actions, and embedded or attached files are rejected; the page count is bounded.
 */
export async function inspectPdf(bytes: Buffer): Promise<Inspection> {
  let document: PDFDocument;
  try {
    // Loaded even when encrypted, so encryption is recognised by the parser rather than by an error's text.
    document = await PDFDocument.load(bytes, {
      ignoreEncryption: true,
      throwOnInvalidObject: true,
      updateMetadata: false,
    });
  } catch {
    return rejected('malformed_pdf', 'The PDF cannot be parsed.');
  }
  if (document.isEncrypted) return rejected('pdf_encrypted', 'The PDF is encrypted.');
  for (const [, object] of document.context.enumerateIndirectObjects()) {
    const found = findForbidden(object);
    if (found) return rejected(found.reason, `${pdfFindings[found.reason]} (${found.name}).`);
  }
  let pages: number;
  try {
    pages = document.getPageCount();
  } catch {
    return rejected('malformed_pdf', 'The PDF’s page tree cannot be read.');
  }
  if (pages === 0) return rejected('malformed_pdf', 'The PDF has no pages.');
  if (pages > MAX_PDF_PAGES) {
    return rejected(
      'pdf_too_many_pages',
      `The PDF has ${pages} pages; at most ${MAX_PDF_PAGES} are accepted.`,
    );
  }
  return ready({ pages });
}
