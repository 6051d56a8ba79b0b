import escapeHtml from 'escape-html';
import type { ExportFile, ExportSource, StoryLink, StoryLinkKind } from './export-source';
import { fileStems, truncate } from './export-source';
import { workItemOutlines, type Block, type Run } from './outline';

/** One operation of a JSON Patch document (RFC 6902) as Azure DevOps' work item API takes it. */
export interface WorkItemPatchOperation {
  op: 'add';
  path: string;
  value: string | WorkItemRelation;
}

/** A link from the work item being created to another (`/relations/-`). */
export interface WorkItemRelation {
  rel: string;
  url: string;
  attributes: { comment: string };
}

/**
 * Where another story's work item lives, for links: Azure DevOps links by work item URL, which exists only
 * once the item does. A backlog created in one `$batch` call can use the batch's temporary ids
 * (`.../_apis/wit/workItems/-1`); without a resolver, links are left out.
 */
export type WorkItemUrl = (key: string) => string | undefined;

export interface AzureDevOpsExportOptions {
  workItemUrl?: WorkItemUrl;
}

/** Work item titles are limited to 255 characters. */
const maxTitleLength = 255;

/**
 * Link types by relationship, from the linking story's side: it is the successor of what it depends on, the
 * child of its parent; other relationships are "Related", with the kind in the link's comment.
 */
const relationTypes: Record<StoryLinkKind, string> = {
  'depends-on': 'System.LinkTypes.Dependency-Reverse',
  'child-of': 'System.LinkTypes.Hierarchy-Reverse',
  'shares-entity': 'System.LinkTypes.Related',
  duplicates: 'System.LinkTypes.Related',
  conflicts: 'System.LinkTypes.Related',
};

/** Every piece of story text is HTML-escaped: the fields are rendered as HTML in the work item form. */
function htmlRuns(runs: readonly Run[]): string {
  return runs.map((run) => (run.strong ? `<b>${escapeHtml(run.text)}</b>` : escapeHtml(run.text))).join('');
}

/** The blocks as the HTML that Azure DevOps' rich-text fields hold. */
function html(blocks: readonly Block[]): string {
  return blocks
    .map((block) => {
      if (block.type === 'heading') return `<h3>${escapeHtml(block.text)}</h3>`;
      if (block.type === 'paragraph') return `<p>${htmlRuns(block.runs)}</p>`;
      return `<ul>${block.items.map((runs) => `<li>${htmlRuns(runs)}</li>`).join('')}</ul>`;
    })
    .join('');
}

function relationOperations(
  key: string,
  links: readonly StoryLink[],
  workItemUrl: WorkItemUrl | undefined,
): WorkItemPatchOperation[] {
  if (!workItemUrl) return [];
  return links.flatMap((link) => {
    const url = link.from === key ? workItemUrl(link.to) : undefined;
    if (url === undefined) return [];
    return [
      {
        op: 'add' as const,
        path: '/relations/-',
        value: { rel: relationTypes[link.kind], url, attributes: { comment: link.kind } },
      },
    ];
  });
}

/**
 * One JSON Patch document per story: the body of Azure DevOps' create work item call
 * (`POST {organization}/{project}/_apis/wit/workitems/$User%20Story`, `application/json-patch+json`) with
 * title, description, acceptance criteria (HTML) and tags, plus relation operations for links to other
 * stories when their work item URLs are known.
 */
export function azureDevOpsExport(
  source: ExportSource,
  options: AzureDevOpsExportOptions = {},
): ExportFile[] {
  const stems = fileStems(source);
  return workItemOutlines(source).map((outline, index) => {
    const story = source.specifications[index]?.story;
    const tags = ['user-story-agent', ...(story ? [story.productType] : [])];
    const document: WorkItemPatchOperation[] = [
      { op: 'add', path: '/fields/System.Title', value: truncate(outline.title, maxTitleLength) },
      { op: 'add', path: '/fields/System.Description', value: html(outline.description) },
      {
        op: 'add',
        path: '/fields/Microsoft.VSTS.Common.AcceptanceCriteria',
        value: html(outline.acceptanceCriteria),
      },
      { op: 'add', path: '/fields/System.Tags', value: tags.join('; ') },
      ...relationOperations(outline.key, source.links, options.workItemUrl),
    ];
    return {
      name: `${stems[index] ?? 'story'}.json`,
      mediaType: 'application/json-patch+json',
      content: `${JSON.stringify(document, null, 2)}\n`,
    };
  });
}
