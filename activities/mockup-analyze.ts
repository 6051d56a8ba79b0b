import * as df from 'durable-functions';
import { mockupAnalyzeInputSchema, type MockupAnalyzeOutput } from '../shared/jobs/orchestration-contract';
import { getServices } from '../shared/services';

/** Reads one of a job's mockups into its inventory (a vision call) and checkpoints it, before the iterations. */
export const mockupAnalyze = df.app.activity('mockupAnalyze', {
  handler: async (input: unknown): Promise<MockupAnalyzeOutput> =>
    (await getServices()).steps.analyzeMockup(mockupAnalyzeInputSchema.parse(input)),
});
