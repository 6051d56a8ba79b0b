import * as df from 'durable-functions';
import { webhookAttemptInputSchema, type WebhookAttemptOutput } from '../shared/webhooks/delivery-contract';
import { getServices } from '../shared/services';

/** Sends one attempt of a webhook delivery and records it. */
export const webhookAttempt = df.app.activity('webhookAttempt', {
  handler: async (input: unknown): Promise<WebhookAttemptOutput> =>
    (await getServices()).webhooks.attempt(webhookAttemptInputSchema.parse(input)),
});
