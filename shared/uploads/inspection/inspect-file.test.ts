import { describe, expect, it } from 'vitest';
import { jpeg, pdf, png, svg, zipEnd } from '../../../test/support/mockup-files';
import { MAX_UPLOAD_BYTES, type UploadContentType } from '../upload';
import { inspectFile } from './inspect-file';

const inspect = (bytes: Buffer, contentType: UploadContentType, sizeBytes = bytes.length) =>
  inspectFile(bytes, { contentType, sizeBytes });

const reasonOf = async (bytes: Buffer, contentType: UploadContentType, sizeBytes?: number) => {
  const inspection = await inspect(bytes, contentType, sizeBytes);
  return inspection.verdict === 'rejected' ? inspection.reason : 'ready';
};

describe('inspectFile', () => {
  it('accepts honest PNG, JPEG, PDF and SVG files and reports what it read', async () => {
    expect(await inspect(png(40, 30), 'image/png')).toEqual({
      verdict: 'ready',
      facts: { width: 40, height: 30 },
    });
    expect(await inspect(jpeg(1024, 768), 'image/jpeg')).toEqual({
      verdict: 'ready',
      facts: { width: 1024, height: 768 },
    });
    expect(await inspect(await pdf({ pages: 3, text: 'Checkout' }), 'application/pdf')).toEqual({
      verdict: 'ready',
      facts: { pages: 3 },
    });
    expect((await inspect(svg(), 'image/svg+xml')).verdict).toBe('ready');
  });

  it('enforces the declared size and refuses empty and oversized files', async () => {
    expect(await reasonOf(Buffer.alloc(0), 'image/png', 10)).toBe('empty_file');
    expect(await reasonOf(png(4, 4), 'image/png', png(4, 4).length + 1)).toBe('size_mismatch');
    const oversized = Buffer.concat([png(4, 4), Buffer.alloc(MAX_UPLOAD_BYTES)]);
    expect(await reasonOf(oversized, 'image/png', MAX_UPLOAD_BYTES)).toBe('too_large');
  });

  it('takes the type from the bytes: a file that lies about its type is rejected', async () => {
    expect(await reasonOf(png(4, 4), 'image/jpeg')).toBe('type_mismatch');
    expect(await reasonOf(await pdf(), 'image/png')).toBe('type_mismatch');
    expect(await reasonOf(svg(), 'image/png')).toBe('type_mismatch');
    expect(await reasonOf(Buffer.from('just some text'), 'image/svg+xml')).toBe('unsupported_type');
    expect(await reasonOf(Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'), 'image/png')).toBe(
      'type_mismatch',
    );
  });

  it('rejects polyglots: an image or PDF that is also a ZIP, an image that carries HTML', async () => {
    expect(await reasonOf(Buffer.concat([png(4, 4), zipEnd()]), 'image/png')).toBe('polyglot');
    expect(await reasonOf(Buffer.concat([jpeg(10, 10), zipEnd()]), 'image/jpeg')).toBe('polyglot');
    expect(await reasonOf(Buffer.concat([await pdf(), zipEnd()]), 'application/pdf')).toBe('polyglot');
    expect(await reasonOf(png(4, 4, { text: '<html><script>alert(1)</script>' }), 'image/png')).toBe(
      'polyglot',
    );
    expect(await reasonOf(Buffer.concat([png(4, 4), Buffer.from('<p>hello</p>')]), 'image/png')).toBe(
      'polyglot',
    );
    expect(await reasonOf(Buffer.concat([jpeg(4, 4), Buffer.from('PK\x03\x04')]), 'image/jpeg')).toBe(
      'polyglot',
    );
  });

  it('bounds image dimensions, so a small file claiming a huge canvas is rejected', async () => {
    expect(await reasonOf(png(4, 4, { claimed: { width: 50_000, height: 50_000 } }), 'image/png')).toBe(
      'image_too_large',
    );
    expect(await reasonOf(jpeg(9000, 100), 'image/jpeg')).toBe('image_too_large');
    expect(await reasonOf(png(4, 4).subarray(0, 40), 'image/png')).toBe('malformed_image');
    expect(await reasonOf(jpeg(10, 10).subarray(0, 30), 'image/jpeg')).toBe('malformed_image');
  });

  it('rejects PDFs with JavaScript, embedded files, encryption or too many pages', async () => {
    expect(await reasonOf(await pdf({ javascript: true }), 'application/pdf')).toBe('pdf_javascript');
    expect(await reasonOf(await pdf({ embeddedFile: true }), 'application/pdf')).toBe('pdf_embedded_file');
    expect(await reasonOf(await pdf({ encrypted: true }), 'application/pdf')).toBe('pdf_encrypted');
    expect(await reasonOf(await pdf({ pages: 101 }), 'application/pdf')).toBe('pdf_too_many_pages');
    expect(await reasonOf(Buffer.from('%PDF-1.7\nnot really a pdf'), 'application/pdf')).toBe(
      'malformed_pdf',
    );
  });

  it('sees JavaScript hidden behind #xx escapes in PDF names', async () => {
    const plain = (await pdf({ javascript: true })).toString('latin1');
    expect(plain).toContain('/JS ');
    const escaped = Buffer.from(
      plain.replace('/JavaScript', '/J#61vaScript').replace('/JS ', '/J#53 '),
      'latin1',
    );
    expect(await reasonOf(escaped, 'application/pdf')).toBe('pdf_javascript');
  });

  it('rejects SVGs with script, handlers, foreignObject, external references or a DOCTYPE', async () => {
    const cases: [string, string][] = [
      ['<script>alert(1)</script>', 'svg_script'],
      ['<rect onclick="alert(1)" width="1" height="1"/>', 'svg_event_handler'],
      [
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>',
        'svg_foreign_object',
      ],
      ['<image href="https://example.com/x.png" width="1" height="1"/>', 'svg_external_reference'],
      ['<use xlink:href="file:///etc/passwd"/>', 'svg_external_reference'],
      ['<a href="javascript:alert(1)"><text>x</text></a>', 'svg_external_reference'],
      ['<style>@import url(https://example.com/a.css);</style>', 'svg_external_reference'],
      [
        '<rect style="fill:url(https://example.com/p.svg#x)" width="1" height="1"/>',
        'svg_external_reference',
      ],
      ['<set attributeName="href" to="javascript:alert(1)"/>', 'svg_script'],
    ];
    for (const [inner, reason] of cases)
      expect(await reasonOf(svg(inner), 'image/svg+xml'), inner).toBe(reason);
    const withDoctype = Buffer.from(
      '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY lol "lol">]><svg xmlns="http://www.w3.org/2000/svg">&lol;</svg>',
    );
    expect(await reasonOf(withDoctype, 'image/svg+xml')).toBe('svg_doctype');
    expect(await reasonOf(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><g>'), 'image/svg+xml')).toBe(
      'malformed_svg',
    );
    expect(await reasonOf(Buffer.from('<html><body>hi</body></html>'), 'image/svg+xml')).toBe(
      'malformed_svg',
    );
  });

  it('allows local references and embedded raster images in SVGs', async () => {
    const inner =
      '<defs><linearGradient id="g"/></defs><rect fill="url(#g)" width="1" height="1"/><use href="#g"/><image xlink:href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/>';
    expect(await reasonOf(svg(inner), 'image/svg+xml')).toBe('ready');
  });
});
