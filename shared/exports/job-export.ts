import { z } from 'zod';
import { parseStory } from '../engine/story';
import { AppError } from '../errors';
import type { JobDocument } from '../jobs/job';
import type { Caller, JobService } from '../jobs/job-service';
import { exportFiles, placeholderJiraProjectKey } from './export-files';
import { exportFileSchema, exportFormatSchema, type ExportSource } from './export-source';

/** The query of `GET /api/v1/jobs/{jobId}/export`. */
export const exportJobQuerySchema = z.object({
  format: exportFormatSchema.describe(
    'markdown (one .md per story), gherkin (one .feature per story), jira (create-issue bodies and an importer CSV) or azure-devops (one JSON Patch document per work item).',
  ),
  jiraProjectKey: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{0,9}$/, 'a Jira project key, e.g. SHOP')
    .default(placeholderJiraProjectKey)
    .describe(`jira: the project key written into each issue; default ${placeholderJiraProjectKey}.`),
  jiraAcceptanceCriteriaField: z
    .string()
    .regex(/^customfield_\d{1,12}$/, 'a custom field id, e.g. customfield_10050')
    .optional()
    .describe(
      'jira: a rich-text custom field for the acceptance criteria; without it they end the description.',
    ),
});
export type ExportJobQuery = z.infer<typeof exportJobQuerySchema>;

export const jobExportSchema = z.object({
  jobId: z.string(),
  format: exportFormatSchema,
  files: z.array(exportFileSchema).describe('The export, one entry per file; save each under its name.'),
});
export type JobExport = z.infer<typeof jobExportSchema>;

/**
 * The specifications of a completed job. The stored result is the rendered specification, which `parseStory`
 * reads back into the structured story (sections, and criteria with their Given/When/Then steps).
 */
export function jobExportSource(job: JobDocument): ExportSource {
  const markdown = job.result?.story;
  if (job.status !== 'completed' || markdown === undefined) {
    throw new AppError(
      'job_not_completed',
      `Job ${job.id} is ${job.status}; only a completed job can be exported.`,
    );
  }
  return {
    specifications: [
      { key: job.id, story: parseStory(markdown, { productType: job.productType }), markdown },
    ],
    links: [],
  };
}

/** Exports of the caller's own completed jobs; another user's or tenant's job is `not_found`, as for getJob. */
export class JobExports {
  constructor(private readonly jobs: Pick<JobService, 'get'>) {}

  async export(caller: Caller, jobId: string, query: ExportJobQuery): Promise<JobExport> {
    const job = await this.jobs.get(caller, jobId);
    const files = exportFiles(jobExportSource(job), query.format, {
      jira: { projectKey: query.jiraProjectKey, acceptanceCriteriaField: query.jiraAcceptanceCriteriaField },
    });
    return { jobId: job.id, format: query.format, files };
  }
}
