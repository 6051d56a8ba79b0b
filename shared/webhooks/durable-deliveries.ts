import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { AppError } from '../errors';
import { webhookDeliveryOrchestratorName } from './delivery-contract';
import type { DeliveryStarter } from './webhook-service';

/** The durable client behind the webhook service's starter port (any function with a durableClient input). */
export function durableDeliveries(context: InvocationContext): DeliveryStarter {
  const client = df.getClient(context);
  return {
    start: async (instanceId, input) => {
      try {
        await client.startNew(webhookDeliveryOrchestratorName, { instanceId, input });
      } catch (error: unknown) {
        // Already started (an event published again, an activity re-run): that run goes on.
        if (await client.getStatus(instanceId).catch(() => undefined)) return;
        throw new AppError('upstream_unavailable', 'The delivery could not be started; retry shortly.', {
          cause: error,
          retryAfterSeconds: 2,
        });
      }
    },
  };
}
