import * as df from 'durable-functions';
import { getServices } from '../shared/services';
import {
  systemStoryInputSchema,
  type SystemStoryFinishOutput,
} from '../shared/jobs/system-orchestration-contract';

/** Reads how one story of a backlog ended, counts it in the backlog's progress and announces it. */
export const systemStoryFinish = df.app.activity('systemStoryFinish', {
  handler: async (input: unknown): Promise<SystemStoryFinishOutput> =>
    (await getServices()).systemSteps.storyFinished(systemStoryInputSchema.parse(input)),
});
