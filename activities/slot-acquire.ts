import * as df from 'durable-functions';
import { jobRefSchema, type SlotAcquireOutput } from '../shared/jobs/orchestration-contract';
import { getServices } from '../shared/services';

/** Takes a run slot for a queued job, or reports that it must keep waiting. */
export const slotAcquire = df.app.activity('slotAcquire', {
  handler: async (input: unknown): Promise<SlotAcquireOutput> =>
    (await getServices()).steps.acquireSlot(jobRefSchema.parse(input)),
});
