import * as df from 'durable-functions';
import { jobFinishInputSchema } from '../shared/jobs/orchestration-contract';
import { getServices } from '../shared/services';

/** Writes the job's final state: merged story, iteration results and usage totals. */
export const jobFinish = df.app.activity('jobFinish', {
  handler: async (input: unknown): Promise<void> =>
    (await getServices()).execution.finish(jobFinishInputSchema.parse(input)),
});
