import * as df from 'durable-functions';
import { jobRefSchema, type JobStartOutput } from '../shared/jobs/orchestration-contract';
import { getServices } from '../shared/services';

/** Marks the job running (or reports it was cancelled while queued). */
export const jobStart = df.app.activity('jobStart', {
  handler: async (input: unknown): Promise<JobStartOutput> =>
    (await getServices()).steps.start(jobRefSchema.parse(input)),
});
