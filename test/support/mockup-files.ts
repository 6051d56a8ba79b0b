import { crc32, deflateSync } from 'node:zlib';
import { PDFDocument, PDFName, PDFString, StandardFonts } from 'pdf-lib';

/** Mockup files built in tests, honest and malicious, so no binary fixture hides what it contains. */

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A PNG of `width` x `height` grey pixels. `claimed` makes the header state other dimensions than the pixel
 * data holds (a decompression bomb claims a huge canvas in a tiny file); `text` adds a tEXt chunk.
 */
export function png(
  width: number,
  height: number,
  options: { claimed?: { width: number; height: number }; text?: string } = {},
): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(options.claimed?.width ?? width, 0);
  header.writeUInt32BE(options.claimed?.height ?? height, 4);
  header.writeUInt8(8, 8); // bit depth
  header.writeUInt8(0, 9); // greyscale
  const rows = Buffer.alloc((width + 1) * height, 0x80);
  for (let row = 0; row < height; row++) rows[row * (width + 1)] = 0; // filter byte
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    ...(options.text ? [pngChunk('tEXt', Buffer.from(`Comment\0${options.text}`, 'latin1'))] : []),
    pngChunk('IDAT', deflateSync(rows)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The smallest JPEG header that states its dimensions (SOI, JFIF, baseline SOF, EOI). */
export function jpeg(width: number, height: number): Buffer {
  const frame = Buffer.from([
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    0x03,
    0x01,
    0x22,
    0x00,
    0x02,
    0x11,
    0x01,
    0x03,
    0x11,
    0x01,
  ]);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    Buffer.from([0xff, 0xe0, 0x00, 0x10]),
    Buffer.from('JFIF\0', 'latin1'),
    Buffer.from([0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]),
    frame,
    Buffer.from([0xff, 0xd9]),
  ]);
}

/** An empty ZIP archive (only its end-of-central-directory record): appended, it makes any file a ZIP too. */
export function zipEnd(): Buffer {
  const record = Buffer.alloc(22);
  record.write('PK\x05\x06', 0, 'latin1');
  return record;
}

export interface PdfOptions {
  pages?: number;
  /** Text drawn on the first page. */
  text?: string;
  javascript?: boolean;
  embeddedFile?: boolean;
  encrypted?: boolean;
}

/** A PDF made with pdf-lib, with the requested content or the requested hostile parts. */
export async function pdf(options: PdfOptions = {}): Promise<Buffer> {
  const document = await PDFDocument.create();
  const font = await document.embedFont(StandardFonts.Helvetica);
  for (let index = 0; index < (options.pages ?? 1); index++) {
    const page = document.addPage([595, 842]);
    if (index === 0 && options.text) page.drawText(options.text, { x: 50, y: 780, size: 14, font });
  }
  const context = document.context;
  if (options.javascript) {
    document.catalog.set(
      PDFName.of('OpenAction'),
      context.obj({ S: 'JavaScript', JS: PDFString.of('app.alert("hi")') }),
    );
  }
  if (options.embeddedFile) {
    await document.attach(Buffer.from('secret'), 'notes.txt', { mimeType: 'text/plain' });
  }
  if (options.encrypted) {
    context.trailerInfo.Encrypt = context.register(
      context.obj({ Filter: 'Standard', V: 1, R: 2, O: PDFString.of('x'), U: PDFString.of('y'), P: -4 }),
    );
  }
  return Buffer.from(await document.save({ useObjectStreams: false }));
}

/** A small SVG; `inner` goes inside the root element. */
export function svg(
  inner = '<rect id="submit-button" width="10" height="10"/><text id="title">Sign in</text>',
): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="320" height="200" viewBox="0 0 320 200">${inner}</svg>\n`,
    'utf8',
  );
}
