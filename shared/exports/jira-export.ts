import { stringify } from 'csv-stringify/sync';
import type { ExportFile, ExportSource } from './export-source';
import { truncate } from './export-source';
import { workItemOutlines, type Block, type Run, type WorkItemOutline } from './outline';

/** Atlassian Document Format (version 1), the subset the export writes. */
export interface AdfText {
  type: 'text';
  text: string;
  marks?: { type: 'strong' }[];
}
export interface AdfParagraph {
  type: 'paragraph';
  content: AdfText[];
}
export type AdfBlock =
  | AdfParagraph
  | { type: 'heading'; attrs: { level: 3 }; content: AdfText[] }
  | { type: 'bulletList'; content: { type: 'listItem'; content: AdfParagraph[] }[] };
export interface AdfDocument {
  type: 'doc';
  version: 1;
  content: AdfBlock[];
}

/** Jira's options for the issues: which project, and where acceptance criteria go. */
export interface JiraExportOptions {
  /** The project key written into each issue (`fields.project.key`). */
  projectKey: string;
  /**
   * A rich-text custom field (`customfield_NNNNN`) for the acceptance criteria, where the site has one;
   * without it they close the description.
   */
  acceptanceCriteriaField?: string | undefined;
}

/** Jira refuses longer summaries. */
const maxSummaryLength = 255;

/** Text nodes carry user text as data: ADF has no markup inside `text`, so nothing in it can become a node. */
function adfText(runs: readonly Run[]): AdfText[] {
  return runs
    .filter((run) => run.text !== '')
    .map((run) => ({ type: 'text', text: run.text, ...(run.strong ? { marks: [{ type: 'strong' }] } : {}) }));
}

function adfBlock(block: Block): AdfBlock {
  if (block.type === 'heading')
    return { type: 'heading', attrs: { level: 3 }, content: adfText([{ text: block.text }]) };
  if (block.type === 'paragraph') return { type: 'paragraph', content: adfText(block.runs) };
  return {
    type: 'bulletList',
    content: block.items.map((runs) => ({
      type: 'listItem',
      content: [{ type: 'paragraph', content: adfText(runs) }],
    })),
  };
}

/** The blocks as an ADF document. */
function adfDocument(blocks: readonly Block[]): AdfDocument {
  return { type: 'doc', version: 1, content: blocks.map(adfBlock) };
}

/** The body of Jira Cloud's create-issue call (`POST /rest/api/3/issue`) for one story. */
function jiraIssue(outline: WorkItemOutline, options: JiraExportOptions, labels: readonly string[]) {
  const separate = options.acceptanceCriteriaField !== undefined;
  const description = separate
    ? outline.description
    : [...outline.description, ...outline.acceptanceCriteria];
  return {
    fields: {
      project: { key: options.projectKey },
      issuetype: { name: 'Story' },
      summary: truncate(outline.title, maxSummaryLength),
      description: adfDocument(description),
      labels: [...labels],
      ...(options.acceptanceCriteriaField === undefined
        ? {}
        : { [options.acceptanceCriteriaField]: adfDocument(outline.acceptanceCriteria) }),
    },
  };
}

/**
 * Jira wiki markup, which the CSV importer renders. Backslash-escaping the characters that open links,
 * images, macros and tables keeps story text from becoming any of them.
 */
function wikiText(text: string): string {
  return text.replace(/[\\{}[\]|!]/g, (char) => `\\${char}`);
}

function wikiRuns(runs: readonly Run[]): string {
  return runs.map((run) => (run.strong ? `*${wikiText(run.text)}*` : wikiText(run.text))).join('');
}

function wiki(blocks: readonly Block[]): string {
  return blocks
    .map((block) => {
      if (block.type === 'heading') return `h3. ${wikiText(block.text)}`;
      if (block.type === 'paragraph') return wikiRuns(block.runs);
      return block.items.map((runs) => `* ${wikiRuns(runs)}`).join('\n');
    })
    .join('\n\n');
}

function labelsOf(source: ExportSource, key: string): string[] {
  const story = source.specifications.find((spec) => spec.key === key)?.story;
  return ['user-story-agent', ...(story ? [story.productType] : [])];
}

/**
 * Two files: the body of Jira Cloud's bulk create call (`POST /rest/api/3/issue/bulk`), whose `issueUpdates`
 * entries are each a create-issue body, and a CSV for Jira's importer (one row per story; repeated `Labels`
 * columns hold several labels, as the importer expects; cells that a spreadsheet would run as formulas are
 * escaped).
 */
export function jiraExport(source: ExportSource, options: JiraExportOptions): ExportFile[] {
  const outlines = workItemOutlines(source);
  const labelColumns = Math.max(1, ...outlines.map((outline) => labelsOf(source, outline.key).length));
  const header = ['Issue Id', 'Summary', 'Issue Type', 'Description', 'Acceptance Criteria'];
  const rows = outlines.map((outline, index) => {
    const labels = labelsOf(source, outline.key);
    return [
      String(index + 1),
      truncate(outline.title, maxSummaryLength),
      'Story',
      wiki(outline.description),
      wiki(outline.acceptanceCriteria),
      ...Array.from({ length: labelColumns }, (_, column) => labels[column] ?? ''),
    ];
  });
  const bulk = {
    issueUpdates: outlines.map((outline) => jiraIssue(outline, options, labelsOf(source, outline.key))),
  };
  return [
    {
      name: 'jira-issues.json',
      mediaType: 'application/json',
      content: `${JSON.stringify(bulk, null, 2)}\n`,
    },
    {
      name: 'jira-import.csv',
      mediaType: 'text/csv; charset=utf-8',
      content: stringify([[...header, ...Array.from({ length: labelColumns }, () => 'Labels')], ...rows], {
        escape_formulas: true,
        record_delimiter: 'windows',
      }),
    },
  ];
}
