/**
 * Signs that a file is also something else. A ZIP reader looks for its end-of-central-directory record at
 * the end of the file (after it only the archive comment, whose length the record states), so a record
 * there whose comment length matches exactly means some reader would open the file as an archive. HTML
 * tags inside an image mean a browser sniffing the bytes could render them as a page.
 */
const zipEndRecord = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
const zipEndRecordSize = 22;
const maxZipCommentLength = 0xffff;

export function endsAsZip(bytes: Buffer): boolean {
  const earliest = Math.max(0, bytes.length - zipEndRecordSize - maxZipCommentLength);
  for (let at = bytes.length - zipEndRecordSize; at >= earliest; at--) {
    if (bytes[at] !== 0x50 || !bytes.subarray(at, at + 4).equals(zipEndRecord)) continue;
    if (bytes.readUInt16LE(at + 20) === bytes.length - at - zipEndRecordSize) return true;
  }
  return false;
}

/** Markers long enough that compressed image data does not produce them by chance. */
const htmlMarkers = ['<script', '<html', '<!doctype', '<iframe', '<body', '<object', '<embed', 'javascript:'];

export function containsHtml(bytes: Buffer): string | undefined {
  const text = bytes.toString('latin1').toLowerCase();
  return htmlMarkers.find((marker) => text.includes(marker));
}
