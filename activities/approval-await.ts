import * as df from 'durable-functions';
import { approvalStepInputSchema } from '../shared/jobs/orchestration-contract';
import { getServices } from '../shared/services';

/** Interactive mode: publishes the preview of one iteration and marks the job awaiting approval. */
export const approvalAwait = df.app.activity('approvalAwait', {
  handler: async (input: unknown): Promise<void> =>
    (await getServices()).steps.awaitApproval(approvalStepInputSchema.parse(input)),
});
