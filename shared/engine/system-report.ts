import type { Rename } from './backlog-names';
import type { ConsistencyFinding, Relationship, SystemContext } from './system-analysis';

/** One story of a backlog as the report shows it. */
export interface ReportedStory {
  storyId: string;
  title: string;
  status: string;
  /** The story's specification (markdown); absent when it did not complete. */
  story?: string;
  /** Terms its specification wrote another way, now written with the canonical names. */
  renames?: readonly Rename[];
}

/** Where a canonical name replaced other spellings: "S2 (3 items)". */
function renamedIn(stories: readonly ReportedStory[], canonical: string): string {
  const places = stories.flatMap((story) => {
    const items = (story.renames ?? [])
      .filter((rename) => rename.to === canonical)
      .reduce((sum, rename) => sum + rename.items, 0);
    return items === 0 ? [] : [`${story.storyId} (${items} item${items === 1 ? '' : 's'})`];
  });
  return places.length === 0 ? '' : `; applied in ${places.join(', ')}`;
}

function terms(title: string, list: readonly { name: string; storyIds: string[] }[]): string[] {
  if (list.length === 0) return [];
  return [`**${title}:** ${list.map((term) => `${term.name} (${term.storyIds.join(', ')})`).join('; ')}`, ''];
}

/**
 * The backlog as one markdown document: the analysis (context, relationships, findings), then every story's
 * specification under its backlog id. What `result.story` of a system-mode job holds.
 */
export function renderBacklogMarkdown(
  stories: readonly ReportedStory[],
  analysis: {
    context?: SystemContext;
    relationships: readonly Relationship[];
    findings: readonly ConsistencyFinding[];
  },
): string {
  const lines = ['# Backlog', ''];
  for (const story of stories) lines.push(`- ${story.storyId}: ${story.title} (${story.status})`);
  lines.push('', '## System context', '');
  const { context } = analysis;
  if (context) {
    lines.push(
      ...terms('Actors', context.actors),
      ...terms('Entities', context.entities),
      ...terms('Screens', context.screens),
    );
    for (const term of context.vocabulary) {
      lines.push(
        `- Use "${term.canonical}", not ${term.variants.map((variant) => `"${variant}"`).join(', ')}${renamedIn(stories, term.canonical)}`,
      );
    }
  } else {
    lines.push('_Not discovered._');
  }
  lines.push('', '## Relationships', '');
  if (analysis.relationships.length === 0) lines.push('_None found._');
  for (const link of analysis.relationships) {
    lines.push(`- ${link.from} ${link.kind} ${link.to} (confidence ${link.confidence}): ${link.reason}`);
  }
  lines.push('', '## Consistency findings', '');
  if (analysis.findings.length === 0) lines.push('_None found._');
  for (const finding of analysis.findings) {
    const items = finding.items.map((item) => `${item.storyId}/${item.itemId}`).join(', ');
    lines.push(
      `- **${finding.kind}** (${finding.storyIds.join(', ')}${items ? `; ${items}` : ''}): ${finding.detail} ${finding.suggestion}`,
    );
  }
  for (const story of stories) {
    lines.push(
      '',
      '---',
      '',
      `<!-- ${story.storyId} -->`,
      '',
      story.story ?? `_${story.storyId} ${story.status}._`,
    );
  }
  return `${lines.join('\n')}\n`;
}
