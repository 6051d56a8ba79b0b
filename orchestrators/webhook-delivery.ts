import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import { webhookAttempt } from '../activities/webhook-attempt';
import {
  webhookAttemptOutputSchema,
  webhookDeliveryInputSchema,
  webhookDeliveryOrchestratorName,
} from '../shared/webhooks/delivery-contract';

/** An attempt only fails as an activity when Cosmos is briefly out; the receiver's failures are its result. */
const bookkeepingRetry = new df.RetryOptions(1_000, 5);
bookkeepingRetry.backoffCoefficient = 2;

/**
 * One run of a webhook delivery: attempt, and after each failure wait on a durable timer (so a host restart
 * mid-backoff resumes the wait, not restarts it), until delivered or the schedule is spent (then `dead`).
 */
df.app.orchestration(webhookDeliveryOrchestratorName, function* (context: OrchestrationContext): Generator<
  Task,
  string,
  unknown
> {
  const input = webhookDeliveryInputSchema.parse(context.df.getInput());
  for (let attempt = 1; ; attempt++) {
    const delaySeconds = input.delaysSeconds[attempt - 1];
    const output = webhookAttemptOutputSchema.parse(
      yield webhookAttempt({
        tenantId: input.tenantId,
        deliveryId: input.deliveryId,
        run: input.run,
        attempt,
        final: delaySeconds === undefined,
      }).withRetry(bookkeepingRetry),
    );
    if (output.done || delaySeconds === undefined) return output.status;
    yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + delaySeconds * 1000));
  }
});
