import { z } from 'zod';
import { storyTitle, type Story } from '../engine/story';

/**
 * What every exporter reads: the specifications a job produced and how they relate. A single job has one
 * specification and no links; a backlog job (several stories) has one per story and the relationships found
 * between them, so the exporters take lists from the start.
 */
export interface ExportSource {
  specifications: readonly StorySpecification[];
  links: readonly StoryLink[];
}

/** One story to export, under a key that is unique in the export and that links refer to. */
export interface StorySpecification {
  key: string;
  story: Story;
  /** The specification as the engine rendered it, with its quality report; the markdown export keeps it as is. */
  markdown?: string;
}

/**
 * How two stories of a backlog relate. `child-of` places a story under another (a hierarchy); the others are
 * the relationships the backlog analysis reports.
 */
export const storyLinkKinds = ['depends-on', 'shares-entity', 'duplicates', 'conflicts', 'child-of'] as const;
export type StoryLinkKind = (typeof storyLinkKinds)[number];

/** `from` relates to `to` (e.g. `from` depends on `to`); both are specification keys. */
export interface StoryLink {
  from: string;
  to: string;
  kind: StoryLinkKind;
}

export const exportFormats = ['markdown', 'gherkin', 'jira', 'azure-devops'] as const;
export const exportFormatSchema = z.enum(exportFormats);
export type ExportFormat = z.infer<typeof exportFormatSchema>;

/** One file of an export, as text. */
export const exportFileSchema = z.object({
  name: z.string().describe('A file name to save it under, e.g. transfer-money.feature.'),
  mediaType: z
    .string()
    .describe('The media type of content, e.g. text/x-gherkin, application/json, text/csv.'),
  content: z.string().describe('The file itself.'),
});
export type ExportFile = z.infer<typeof exportFileSchema>;

/** Collapses line breaks and runs of spaces: user text placed on one line of a file must stay on that line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Cuts text to `max` characters at a word boundary, marking the cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - 3).replace(/\s+\S*$/, '')}...`;
}

/** A file-name stem from the story's title: lower-case ASCII words joined by hyphens. */
export function fileStem(story: Story): string {
  const stem = storyTitle(story)
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '');
  return stem === '' ? 'story' : stem;
}

/**
 * A stem per specification, numbered when the export has several so that files sort in backlog order and
 * two stories with the same title never overwrite each other.
 */
export function fileStems(source: ExportSource): string[] {
  const count = source.specifications.length;
  const width = String(count).length;
  return source.specifications.map((specification, index) =>
    count === 1
      ? fileStem(specification.story)
      : `${String(index + 1).padStart(width, '0')}-${fileStem(specification.story)}`,
  );
}
