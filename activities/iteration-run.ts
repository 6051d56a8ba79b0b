import * as df from 'durable-functions';
import { iterationRunInputSchema, type IterationRunOutput } from '../shared/jobs/orchestration-contract';
import { getServices } from '../shared/services';

/** Runs one iteration of a job through the LLM and checkpoints its result. */
export const iterationRun = df.app.activity('iterationRun', {
  handler: async (input: unknown): Promise<IterationRunOutput> =>
    (await getServices()).steps.runIteration(iterationRunInputSchema.parse(input)),
});
