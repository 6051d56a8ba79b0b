import { imageSize } from 'image-size';
import { decodePDFRawStream, PDFArray, PDFDocument, PDFRawStream, type PDFPage } from 'pdf-lib';
import { SaxesParser } from 'saxes';
import type { Attachment } from '../../llm/port';
import type { MockupInventoryOutput } from '../mockup-inventory';

/**
 * The offline engine's mockup reader: only what can be read deterministically from the file (image
 * dimensions, PDF page count and text, SVG texts and element ids), and a plain statement of what it could
 * not see. It never guesses what pixels show.
 */

const id = (prefix: string, index: number) => `${prefix}-${String(index + 1).padStart(3, '0')}`;

function emptyInventory(): MockupInventoryOutput {
  return { screens: [], components: [], texts: [], formFields: [], states: [], navigation: [], notSeen: [] };
}

function imageInventory(attachment: Extract<Attachment, { kind: 'image' }>): MockupInventoryOutput {
  const size = imageSize(Buffer.from(attachment.data, 'base64'));
  return {
    ...emptyInventory(),
    screens: [{ id: id('SCR', 0), name: `${attachment.title} (${size.width}x${size.height} px)` }],
    notSeen: [
      'The offline engine does not read pixels: the components, labels, form fields, states and navigation this image shows are unknown. Run with a vision model (ANTHROPIC_API_KEY) to read them.',
    ],
  };
}

/** Text shown by `Tj`/`TJ` operators in literal or hex strings (simple fonts; CID fonts are not decoded). */
function contentTexts(content: string): string[] {
  const texts: string[] = [];
  const unescape = (literal: string) =>
    literal.replace(/\\([nrtbf()\\]|[0-7]{1,3})/g, (_all, code: string) => {
      const named: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };
      return named[code] ?? (/^[0-7]+$/.test(code) ? String.fromCharCode(parseInt(code, 8)) : code);
    });
  for (const match of content.matchAll(
    /\[((?:[^\]\\]|\\.)*)\]\s*TJ|(\((?:[^)\\]|\\.)*\)|<[0-9A-Fa-f\s]*>)\s*Tj/g,
  )) {
    const source = match[1] ?? match[2] ?? '';
    let text = '';
    for (const part of source.matchAll(/\(((?:[^)\\]|\\.)*)\)|<([0-9A-Fa-f\s]*)>/g)) {
      text +=
        part[1] !== undefined
          ? unescape(part[1])
          : Buffer.from((part[2] ?? '').replace(/\s/g, ''), 'hex').toString('latin1');
    }
    const clean = text.replace(/\s+/g, ' ').trim();
    // Glyph ids of CID fonts decode to control characters: such strings are not text we can read.
    if (clean && /^[\p{L}\p{N}\p{P}\p{S} ]+$/u.test(clean)) texts.push(clean);
  }
  return texts;
}

function pageContent(page: PDFPage): string {
  const contents = page.node.Contents();
  const streams =
    contents instanceof PDFArray ? contents.asArray().map((ref) => page.doc.context.lookup(ref)) : [contents];
  return streams
    .map((stream) =>
      stream instanceof PDFRawStream
        ? Buffer.from(decodePDFRawStream(stream).decode()).toString('latin1')
        : '',
    )
    .join('\n');
}

async function pdfInventory(
  attachment: Extract<Attachment, { kind: 'pdf' }>,
): Promise<MockupInventoryOutput> {
  const document = await PDFDocument.load(Buffer.from(attachment.data, 'base64'), { updateMetadata: false });
  const pages = document.getPages();
  const texts = pages.flatMap((page) => contentTexts(pageContent(page)));
  return {
    ...emptyInventory(),
    screens: pages.map((_page, index) => ({
      id: id('SCR', index),
      name: `${attachment.title} page ${index + 1}`,
    })),
    texts: [...new Set(texts)],
    notSeen: [
      'The offline engine reads a PDF’s page count and the text of simple fonts only: layout, components, form fields, states and navigation are unknown, and text in embedded CID fonts or in images is not read. Run with a vision model (ANTHROPIC_API_KEY) to read them.',
    ],
  };
}

const kindPatterns: [RegExp, string][] = [
  [/button|btn|cta/, 'button'],
  [/input|field|textbox|email|password|search/, 'text-input'],
  [/checkbox|toggle|switch/, 'checkbox'],
  [/link|nav/, 'link'],
  [/title|heading|header/, 'heading'],
];

/** A component kind from an SVG element's id (design tools name layers after what they are), else its text. */
function svgComponentKind(element: string, elementId: string, text: string): string {
  for (const name of [elementId, text]) {
    const match = kindPatterns.find(([pattern]) => pattern.test(name.toLowerCase()));
    if (match) return match[1];
  }
  return element === 'text' ? 'text' : element === 'image' ? 'image' : 'shape';
}

function svgInventory(attachment: Extract<Attachment, { kind: 'text' }>): MockupInventoryOutput {
  const parser = new SaxesParser({ xmlns: true });
  interface Open {
    element: string;
    text: string;
    /** The element's component, reserved when it opens so components keep document order. */
    component?: MockupInventoryOutput['components'][number];
  }
  const open: Open[] = [];
  const components: MockupInventoryOutput['components'] = [];
  const texts: string[] = [];
  let title = '';
  parser.on('opentag', (tag) => {
    const elementId = tag.attributes.id?.value ?? '';
    const entry: Open = { element: tag.local, text: '' };
    if (elementId && open.length > 0) {
      entry.component = {
        id: id('COMP', components.length),
        kind: '',
        label: '',
        screen: id('SCR', 0),
        elementId,
      };
      components.push(entry.component);
    }
    open.push(entry);
  });
  parser.on('text', (chunk) => {
    const text = chunk.replace(/\s+/g, ' ').trim();
    if (!text) return;
    for (const entry of open) entry.text += (entry.text ? ' ' : '') + text;
    if (open.at(-1)?.element === 'title' && !title) title = text;
    else texts.push(text);
  });
  parser.on('closetag', () => {
    const entry = open.pop();
    if (!entry?.component) return;
    entry.component.kind = svgComponentKind(entry.element, entry.component.elementId, entry.text);
    entry.component.label = entry.text || entry.component.elementId;
  });
  parser.write(attachment.text).close();
  return {
    ...emptyInventory(),
    screens: [{ id: id('SCR', 0), name: title || attachment.title }],
    components,
    texts: [...new Set(texts)],
    notSeen: [
      'The offline engine reads an SVG’s texts and element ids only: component kinds are guessed from ids, and form fields, states and navigation are unknown. Run with a vision model (ANTHROPIC_API_KEY) to read them.',
    ],
  };
}

/** The offline inventory of the (first) attached mockup. */
export async function offlineMockupInventory(
  attachments: readonly Attachment[],
): Promise<MockupInventoryOutput> {
  const attachment = attachments[0];
  if (!attachment) return { ...emptyInventory(), notSeen: ['No mockup was attached.'] };
  switch (attachment.kind) {
    case 'image':
      return imageInventory(attachment);
    case 'pdf':
      return pdfInventory(attachment);
    case 'text':
      return svgInventory(attachment);
  }
}
