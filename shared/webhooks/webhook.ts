import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors';
import { seal, sealedSchema, unseal } from '../secrets/sealing';

/** Events a webhook may subscribe to. Job events reach their owner's endpoints; the others, tenant admins'. */
export const webhookEvents = [
  'job.completed',
  'job.failed',
  'job.cancelled',
  'budget.threshold',
  'usage.anomaly',
] as const;
export const webhookEventSchema = z.enum(webhookEvents);
export type WebhookEvent = z.infer<typeof webhookEventSchema>;
/** Events about a whole tenant: only its admins may subscribe to them. */
export const tenantEvents: ReadonlySet<WebhookEvent> = new Set(['budget.threshold', 'usage.anomaly']);
/** Sent by `POST /webhooks/{id}/test` only. */
export const testEvent = 'webhook.test';

/**
 * The signing secret as stored. Standard Webhooks signs with HMAC-SHA256, a symmetric key, so the service must
 * keep the secret itself, not a hash of it: it is encrypted with AES-256-GCM under `WEBHOOK_SECRET_KEY` (a Key
 * Vault reference in Azure), so a copy of the database alone cannot sign. Without that key (development only;
 * production refuses to start) it is stored as is.
 */
const storedSecretSchema = z.discriminatedUnion('scheme', [
  sealedSchema,
  z.object({ scheme: z.literal('plain'), value: z.string() }),
]);
export type StoredSecret = z.infer<typeof storedSecretSchema>;

export const webhookDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('webhook'),
  webhookId: z.string(),
  userId: z.string(),
  url: z.string(),
  events: z.array(webhookEventSchema),
  includeStory: z.boolean(),
  secret: storedSecretSchema,
  createdAt: z.string(),
});
export type WebhookDocument = z.infer<typeof webhookDocumentSchema>;

export const deliveryStatusSchema = z.enum(['pending', 'delivered', 'dead']);

export const deliveryAttemptSchema = z.object({
  run: z.number().int().positive(),
  attempt: z.number().int().positive(),
  at: z.string(),
  statusCode: z.number().int().optional(),
  error: z.string().optional(),
  detail: z.string().optional(),
  durationMs: z.number().int().nonnegative(),
});

export const deliveryDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('webhookDelivery'),
  deliveryId: z.string(),
  webhookId: z.string(),
  /** The `webhook-id` header: the same on every attempt and redelivery, so receivers deduplicate on it. */
  messageId: z.string(),
  event: z.string(),
  /** The exact body sent, built once. */
  payload: z.string(),
  status: deliveryStatusSchema,
  /** Each redelivery is a new run of attempts. */
  runs: z.number().int().positive(),
  attempts: z.array(deliveryAttemptSchema),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type DeliveryDocument = z.infer<typeof deliveryDocumentSchema>;

export const webhookViewSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(webhookEventSchema),
  includeStory: z.boolean(),
  createdAt: z.string(),
});
export type WebhookView = z.infer<typeof webhookViewSchema>;

export const deliveryViewSchema = z.object({
  id: z.string(),
  webhookId: z.string(),
  messageId: z.string().describe('The webhook-id header of every attempt.'),
  event: z.string(),
  status: deliveryStatusSchema,
  attempts: z.array(deliveryAttemptSchema),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export function toWebhookView(document: WebhookDocument): WebhookView {
  return {
    id: document.webhookId,
    url: document.url,
    events: document.events,
    includeStory: document.includeStory,
    createdAt: document.createdAt,
  };
}

export function toDeliveryView(document: DeliveryDocument): z.infer<typeof deliveryViewSchema> {
  return {
    id: document.deliveryId,
    webhookId: document.webhookId,
    messageId: document.messageId,
    event: document.event,
    status: document.status,
    attempts: document.attempts,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  };
}

/** A new signing secret in the Standard Webhooks form: `whsec_` and 32 random bytes in base64. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function sealSecret(secret: string, key: string | undefined): StoredSecret {
  return key === undefined ? { scheme: 'plain', value: secret } : seal(secret, key);
}

export function openSecret(stored: StoredSecret, key: string | undefined): string {
  if (stored.scheme === 'plain') return stored.value;
  if (key === undefined) {
    throw new AppError('internal', 'A webhook secret is encrypted but WEBHOOK_SECRET_KEY is not set.');
  }
  return unseal(stored, key);
}
