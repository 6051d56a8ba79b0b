import { crc32 } from 'node:zlib';
import { imageSize } from 'image-size';
import { MAX_IMAGE_SIDE_PX, ready, rejected, type Inspection } from './inspection';

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Walks a PNG's chunks: each complete with a matching CRC, IHDR first, IDAT present, IEND last and nothing
 * after it (bytes after the end are how PNG polyglots carry a second format).
 */
function pngStructureProblem(bytes: Buffer): Inspection | undefined {
  if (!bytes.subarray(0, 8).equals(pngSignature))
    return rejected('malformed_image', 'The PNG signature is wrong.');
  let offset = 8;
  let index = 0;
  let sawData = false;
  while (offset + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const end = offset + 12 + length;
    if (end > bytes.length)
      return rejected('malformed_image', `The PNG is cut off inside its ${type} chunk.`);
    if (crc32(bytes.subarray(offset + 4, offset + 8 + length)) !== bytes.readUInt32BE(offset + 8 + length)) {
      return rejected('malformed_image', `The PNG's ${type} chunk is corrupt.`);
    }
    if (index === 0 && type !== 'IHDR')
      return rejected('malformed_image', 'The PNG does not start with IHDR.');
    if (type === 'IDAT') sawData = true;
    if (type === 'IEND') {
      if (!sawData) return rejected('malformed_image', 'The PNG has no image data.');
      if (end !== bytes.length) return rejected('polyglot', 'The PNG has data after its end.');
      return undefined;
    }
    offset = end;
    index++;
  }
  return rejected('malformed_image', 'The PNG is cut off before its end.');
}

/** A JPEG ends with its EOI marker; anything after it is a second payload riding along. */
function jpegStructureProblem(bytes: Buffer): Inspection | undefined {
  if (bytes.length >= 4 && bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9)
    return undefined;
  return bytes.includes(Buffer.from([0xff, 0xd9]))
    ? rejected('polyglot', 'The JPEG has data after its end.')
    : rejected('malformed_image', 'The JPEG is cut off before its end.');
}

/**
 * PNG and JPEG: structure checked, the header decoded (image-size) for the dimensions, which are bounded
 * before anything could inflate the pixels (a small file claiming a huge canvas is the decompression-bomb
 * pattern).
 */
export function inspectRasterImage(bytes: Buffer, kind: 'png' | 'jpg'): Inspection {
  const problem = kind === 'png' ? pngStructureProblem(bytes) : jpegStructureProblem(bytes);
  if (problem) return problem;
  let size: ReturnType<typeof imageSize>;
  try {
    size = imageSize(bytes);
  } catch {
    return rejected('malformed_image', `The ${kind.toUpperCase()} header cannot be decoded.`);
  }
  if (size.type !== kind || !size.width || !size.height) {
    return rejected('malformed_image', `The ${kind.toUpperCase()} has no readable dimensions.`);
  }
  if (size.width > MAX_IMAGE_SIDE_PX || size.height > MAX_IMAGE_SIDE_PX) {
    return rejected(
      'image_too_large',
      `The image is ${size.width}x${size.height} px; at most ${MAX_IMAGE_SIDE_PX} px a side is accepted.`,
    );
  }
  return ready({ width: size.width, height: size.height });
}
