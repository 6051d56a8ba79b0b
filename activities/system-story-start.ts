import * as df from 'durable-functions';
import { getServices } from '../shared/services';
import { systemStoryInputSchema } from '../shared/jobs/system-orchestration-contract';

/** Announces that one story of a backlog starts its refinement. */
export const systemStoryStart = df.app.activity('systemStoryStart', {
  handler: async (input: unknown): Promise<void> =>
    (await getServices()).systemSteps.storyStarted(systemStoryInputSchema.parse(input)),
});
