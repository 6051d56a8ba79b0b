import { z } from 'zod';

/** What crosses the durable boundary for one webhook delivery: ids and the backoff schedule, never the body. */
export const webhookDeliveryOrchestratorName = 'webhookDelivery';

export const webhookDeliveryInputSchema = z.object({
  tenantId: z.string().min(1),
  deliveryId: z.string().min(1),
  /** Which run of the delivery (1, then one more per redelivery). */
  run: z.number().int().positive(),
  /** Waits between attempts, in seconds; read from config when the run starts, so replays never change. */
  delaysSeconds: z.array(z.number().int().nonnegative()),
});
export type WebhookDeliveryInput = z.infer<typeof webhookDeliveryInputSchema>;

export const webhookAttemptInputSchema = webhookDeliveryInputSchema.omit({ delaysSeconds: true }).extend({
  attempt: z.number().int().positive(),
  /** The last attempt: a failure marks the delivery `dead`. */
  final: z.boolean(),
});
export type WebhookAttemptInput = z.infer<typeof webhookAttemptInputSchema>;

export const webhookAttemptOutputSchema = z.object({
  /** Nothing more to do: delivered, dead, or the delivery/endpoint is gone. */
  done: z.boolean(),
  status: z.enum(['pending', 'delivered', 'dead']),
});
export type WebhookAttemptOutput = z.infer<typeof webhookAttemptOutputSchema>;

export const deliveryInstanceId = (deliveryId: string, run: number) => `webhook-${deliveryId}-${run}`;
