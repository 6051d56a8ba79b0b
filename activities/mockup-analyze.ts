import * as df from 'durable-functions';
import { mockupAnalyzeInputSchema, type MockupAnalyzeOutput } from '../shared/jobs/orchestration-contract';
import { getServices } from '../shared/services';

/** Reads one uploaded mockup into the job's inventory (a vision call), before the iterations run. */
export const mockupAnalyze = df.app.activity('mockupAnalyze', {
  handler: async (input: unknown): Promise<MockupAnalyzeOutput> =>
    (await getServices()).mockupAnalysis.analyze(mockupAnalyzeInputSchema.parse(input)),
});
