import type { FileFacts, RejectionReason } from '../upload';

/** What a check decided about a file: usable, with what it found out, or rejected with a reason. */
export type Inspection =
  { verdict: 'ready'; facts: FileFacts } | { verdict: 'rejected'; reason: RejectionReason; detail: string };

export const ready = (facts: FileFacts = {}): Inspection => ({ verdict: 'ready', facts });
export const rejected = (reason: RejectionReason, detail: string): Inspection => ({
  verdict: 'rejected',
  reason,
  detail,
});

/** Vision input refuses images with a side over 8000 px; larger claims are also how decompression bombs start. */
export const MAX_IMAGE_SIDE_PX = 8000;
/** Document input reads at most 100 pages of a PDF. */
export const MAX_PDF_PAGES = 100;
