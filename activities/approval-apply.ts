import * as df from 'durable-functions';
import { approvalStepInputSchema } from '../shared/jobs/orchestration-contract';
import { getServices } from '../shared/services';

/** Interactive mode: applies the caller's decision (continue, skip, stop, or an edited story). */
export const approvalApply = df.app.activity('approvalApply', {
  handler: async (input: unknown): Promise<void> =>
    (await getServices()).steps.applyApproval(approvalStepInputSchema.parse(input)),
});
