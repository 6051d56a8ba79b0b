import * as df from 'durable-functions';
import { getServices } from '../shared/services';
import {
  systemPassRunInputSchema,
  type SystemPassRunOutput,
} from '../shared/jobs/system-orchestration-contract';

/** Runs one system pass over a backlog (discovery, interconnection or consistency) and checkpoints it. */
export const systemPassRun = df.app.activity('systemPassRun', {
  handler: async (input: unknown): Promise<SystemPassRunOutput> =>
    (await getServices()).systemSteps.runPass(systemPassRunInputSchema.parse(input)),
});
