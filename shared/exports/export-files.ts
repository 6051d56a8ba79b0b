import { azureDevOpsExport } from './azure-devops-export';
import type { ExportFile, ExportFormat, ExportSource } from './export-source';
import { gherkinExport } from './gherkin-export';
import { jiraExport, type JiraExportOptions } from './jira-export';
import { markdownExport } from './markdown-export';

/** Options of the formats that take any; Jira's project key has a placeholder default. */
export interface ExportOptions {
  jira?: Partial<JiraExportOptions>;
}

/** Written into Jira issues when no project key is given: an obvious placeholder to replace. */
export const placeholderJiraProjectKey = 'PROJ';

/** The files of `source` in `format`. Pure: the same source always gives the same files. */
export function exportFiles(
  source: ExportSource,
  format: ExportFormat,
  options: ExportOptions = {},
): ExportFile[] {
  switch (format) {
    case 'markdown':
      return markdownExport(source);
    case 'gherkin':
      return gherkinExport(source);
    case 'jira':
      return jiraExport(source, {
        projectKey: options.jira?.projectKey ?? placeholderJiraProjectKey,
        acceptanceCriteriaField: options.jira?.acceptanceCriteriaField,
      });
    case 'azure-devops':
      return azureDevOpsExport(source);
  }
}
