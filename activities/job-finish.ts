import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { jobFinishInputSchema } from '../shared/jobs/orchestration-contract';
import { getServices } from '../shared/services';
import { durableDeliveries } from '../shared/webhooks/durable-deliveries';

/**
 * Writes the job's final state (the specification, iteration and pass results, review, findings, usage
 * totals), then tells the webhooks.
 */
export const jobFinish = df.app.activity('jobFinish', {
  extraInputs: [df.input.durableClient()],
  handler: async (input: unknown, context: InvocationContext): Promise<void> => {
    const services = await getServices();
    const ref = jobFinishInputSchema.parse(input);
    await services.steps.finish(ref);
    // After the final state is written, and again on a re-run: deliveries are keyed, so none is sent twice.
    await services.webhooks.afterJobFinished(ref, durableDeliveries(context));
  },
});
