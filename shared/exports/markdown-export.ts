import { renderMarkdown } from '../engine/story';
import { fileStems, type ExportFile, type ExportSource } from './export-source';

/** One markdown file per story: the engine's own rendering when there is one, else rendered here. */
export function markdownExport(source: ExportSource): ExportFile[] {
  const stems = fileStems(source);
  return source.specifications.map((specification, index) => ({
    name: `${stems[index] ?? 'story'}.md`,
    mediaType: 'text/markdown; charset=utf-8',
    content: specification.markdown ?? renderMarkdown(specification.story),
  }));
}
