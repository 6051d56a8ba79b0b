import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { jobFinishInputSchema } from '../shared/jobs/orchestration-contract';
import { getServices } from '../shared/services';
import { durableDeliveries } from '../shared/webhooks/durable-deliveries';

/** Writes a backlog's final state (every story's outcome and the analysis), then tells the webhooks. */
export const systemFinish = df.app.activity('systemFinish', {
  extraInputs: [df.input.durableClient()],
  handler: async (input: unknown, context: InvocationContext): Promise<void> => {
    const services = await getServices();
    const ref = jobFinishInputSchema.parse(input);
    await services.systemSteps.finish(ref);
    await services.webhooks.afterJobFinished(ref, durableDeliveries(context));
  },
});
