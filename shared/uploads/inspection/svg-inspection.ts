import { SaxesParser, type SaxesAttributeNS, type SaxesTagNS } from 'saxes';
import type { RejectionReason } from '../upload';
import { ready, rejected, type Inspection } from './inspection';

const svgNamespace = 'http://www.w3.org/2000/svg';
/** Animation elements can set any attribute later, so what they target is checked like the attribute itself. */
const animationElements = new Set(['animate', 'set', 'animateMotion', 'animateTransform', 'discard']);

/** Links inside the document, or embedded raster data, are fine; anything else is fetched from elsewhere. */
function isLocalReference(value: string): boolean {
  const trimmed = value.trim().toLowerCase();
  return trimmed.startsWith('#') || trimmed.startsWith('data:image/');
}

/** CSS in `style` attributes and elements may fetch too: `url(...)` must stay local, `@import` never. */
function cssFetchesElsewhere(css: string): boolean {
  if (/@import/i.test(css)) return true;
  for (const match of css.matchAll(/url\(\s*(['"]?)([^'")]*)\1\s*\)/gi)) {
    if (!isLocalReference(match[2] ?? '')) return true;
  }
  return false;
}

class SvgRejected extends Error {
  constructor(
    readonly reason: RejectionReason,
    detail: string,
  ) {
    super(detail);
  }
}

function checkAttribute(element: string, attribute: SaxesAttributeNS): void {
  const local = attribute.local.toLowerCase();
  if (local.startsWith('on')) {
    throw new SvgRejected('svg_event_handler', `<${element}> has an event handler (${attribute.name}).`);
  }
  if (local === 'href' && !isLocalReference(attribute.value)) {
    throw new SvgRejected(
      'svg_external_reference',
      `<${element}> references ${attribute.name}="${attribute.value.slice(0, 80)}".`,
    );
  }
  if (local === 'style' && cssFetchesElsewhere(attribute.value)) {
    throw new SvgRejected('svg_external_reference', `<${element}> has a style that loads from elsewhere.`);
  }
}

function checkElement(tag: SaxesTagNS, isRoot: boolean): void {
  const name = tag.local;
  if (isRoot && (name !== 'svg' || tag.uri !== svgNamespace)) {
    throw new SvgRejected('malformed_svg', 'The root element is not <svg> in the SVG namespace.');
  }
  if (name.toLowerCase() === 'script') throw new SvgRejected('svg_script', 'The SVG contains a <script>.');
  if (name === 'foreignObject') {
    throw new SvgRejected('svg_foreign_object', 'The SVG contains a <foreignObject>.');
  }
  for (const attribute of Object.values(tag.attributes)) checkAttribute(name, attribute);
  if (animationElements.has(name)) {
    const target = (tag.attributes.attributeName?.value ?? '').toLowerCase();
    if (target.startsWith('on') || target.endsWith('href')) {
      throw new SvgRejected('svg_script', `<${name}> animates ${target}, which can run or load code.`);
    }
  }
}

/**
 * SVG: parsed as strict XML (saxes); rejected with a DOCTYPE (and so any entity declaration), a processing
 * instruction other than the XML declaration, script, event-handler attributes, `foreignObject`, links
 * (`href`, `xlink:href`) that are not `#...` or `data:image/...`, and CSS that loads from elsewhere.
 */
export function inspectSvg(bytes: Buffer): Inspection {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return rejected('malformed_svg', 'The SVG is not valid UTF-8.');
  }
  const parser = new SaxesParser({ xmlns: true });
  let seenRoot = false;
  let styleDepth = 0;
  let styleText = '';
  parser.on('doctype', () => {
    throw new SvgRejected('svg_doctype', 'The SVG has a DOCTYPE (entity declarations are not accepted).');
  });
  parser.on('processinginstruction', (instruction) => {
    throw new SvgRejected('svg_external_reference', `The SVG has a <?${instruction.target}?> instruction.`);
  });
  parser.on('opentag', (tag) => {
    checkElement(tag, !seenRoot);
    seenRoot = true;
    if (tag.local === 'style') styleDepth++;
  });
  parser.on('closetag', (tag) => {
    if (tag.local !== 'style') return;
    styleDepth--;
    if (cssFetchesElsewhere(styleText)) {
      throw new SvgRejected('svg_external_reference', 'A <style> element loads from elsewhere.');
    }
    styleText = '';
  });
  const collectStyle = (chunk: string) => {
    if (styleDepth > 0) styleText += chunk;
  };
  parser.on('text', collectStyle);
  parser.on('cdata', collectStyle);
  try {
    parser.write(text).close();
  } catch (error: unknown) {
    if (error instanceof SvgRejected) return rejected(error.reason, error.message);
    return rejected('malformed_svg', 'The SVG is not well-formed XML.');
  }
  if (!seenRoot) return rejected('malformed_svg', 'The SVG has no root element.');
  return ready();
}
