import { createHash, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { DocumentExistsError, type CosmosStore } from '../adapters/cosmos-store';
import { decodeCursor, encodeCursor } from '../adapters/page-cursor';
import type { AuditTrail } from '../audit/audit-trail';
import { canAdministerTenant, type Principal } from '../auth/principal';
import { AppError } from '../errors';
import { finishedStatuses, type JobDocument } from '../jobs/job';
import type { JobRepository } from '../jobs/job-repository';
import type { JobRef } from '../jobs/orchestration-contract';
import type { Logger } from '../logger';
import {
  deliveryInstanceId,
  type WebhookAttemptInput,
  type WebhookAttemptOutput,
  type WebhookDeliveryInput,
} from './delivery-contract';
import {
  deliveryDocumentSchema,
  newSigningSecret,
  openSecret,
  sealSecret,
  tenantEvents,
  testEvent,
  webhookDocumentSchema,
  webhookEventSchema,
  type DeliveryDocument,
  type WebhookDocument,
  type WebhookEvent,
} from './webhook';
import type { WebhookSender } from './webhook-sender';

export const createWebhookBodySchema = z.object({
  url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .describe('Where to POST events; https outside development.'),
  events: z.array(webhookEventSchema).min(1).max(10),
  includeStory: z
    .boolean()
    .default(false)
    .describe('Put the enhanced story in job events; off by default, so payloads carry no story text.'),
});
export type CreateWebhookBody = z.infer<typeof createWebhookBodySchema>;

export const deliveriesQuerySchema = z.object({
  status: z.enum(['pending', 'delivered', 'dead']).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(4000).optional(),
});

/** Starts a delivery's durable run; the durable client implements it where a function has one. */
export interface DeliveryStarter {
  start(instanceId: string, input: WebhookDeliveryInput): Promise<void>;
}

export interface WebhookServiceOptions {
  store: CosmosStore;
  audit: AuditTrail;
  sender: WebhookSender;
  logger: Logger;
  /** `WEBHOOK_SECRET_KEY`. */
  secretKey: string | undefined;
  httpsOnly: boolean;
  delaysSeconds: number[];
  jobs: JobRepository;
  /** The tenant's spend and budget this month (UTC), for `budget.threshold`. */
  monthSpend: (tenantId: string) => Promise<{ month: string; spentUsd: number; budgetUsd: number }>;
  now?: () => Date;
}

/** Percentages of the monthly budget that raise `budget.threshold`, each once a month. */
export const budgetThresholds = [50, 80, 100] as const;

/** An event for the tenant's subscribed endpoints; `key` identifies it, so publishing it twice sends it once. */
export interface PublishedEvent {
  tenantId: string;
  event: WebhookEvent | typeof testEvent;
  key: string;
  data: Record<string, unknown>;
  /** Job events: only the job owner's endpoints; and the story, for endpoints that opted in. */
  owner?: { userId: string; story?: string };
  /** Only this endpoint (the test event). */
  webhookId?: string;
}

const maxKeptAttempts = 50;

/**
 * Webhooks after the Standard Webhooks specification: endpoints with a per-endpoint `whsec_` secret shown
 * once, events written as delivery documents (one per endpoint and event, with a stable `webhook-id`) and
 * delivered by a durable orchestration per run (`orchestrators/webhook-delivery.ts`) that retries with
 * exponential backoff on durable timers and marks the delivery `dead` after its last attempt. At least once:
 * a crash between sending and recording sends again with the same `webhook-id`, which receivers deduplicate.
 */
export class WebhookService {
  private readonly now: () => Date;

  constructor(private readonly options: WebhookServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async create(principal: Principal, body: CreateWebhookBody) {
    if (this.options.httpsOnly && !body.url.startsWith('https://')) {
      throw new AppError('validation_failed', 'body.url: must be https.');
    }
    if (
      body.events.some((event) => tenantEvents.has(event)) &&
      !canAdministerTenant(principal, principal.tenantId)
    ) {
      throw new AppError('forbidden', 'budget.threshold and usage.anomaly are for tenant admins.');
    }
    const secret = newSigningSecret();
    const webhookId = randomUUID();
    const document: WebhookDocument = {
      id: `webhook:${webhookId}`,
      tenantId: principal.tenantId,
      type: 'webhook',
      webhookId,
      userId: principal.userId,
      url: body.url,
      events: [...new Set(body.events)],
      includeStory: body.includeStory,
      secret: sealSecret(secret, this.options.secretKey),
      createdAt: this.now().toISOString(),
    };
    await this.options.audit.recorded(
      {
        tenantId: principal.tenantId,
        action: 'webhook.created',
        target: { type: 'webhook', id: webhookId },
        details: {
          host: new URL(body.url).host,
          events: document.events.join(','),
          includeStory: body.includeStory,
        },
      },
      () => this.options.store.create('webhooks', document),
    );
    return { document, secret };
  }

  async list(principal: Principal): Promise<WebhookDocument[]> {
    return (await this.tenantEndpoints(principal.tenantId)).filter(
      (hook) => hook.userId === principal.userId,
    );
  }

  /** The caller's endpoint; anyone else's is `not_found`. */
  async own(principal: Principal, webhookId: string): Promise<WebhookDocument> {
    const found = await this.options.store.read(
      'webhooks',
      `webhook:${webhookId}`,
      principal.tenantId,
      webhookDocumentSchema,
    );
    if (!found || found.document.userId !== principal.userId) {
      throw new AppError('not_found', `Webhook ${webhookId} was not found.`);
    }
    return found.document;
  }

  async delete(principal: Principal, webhookId: string): Promise<void> {
    const hook = await this.own(principal, webhookId);
    await this.options.audit.recorded(
      { tenantId: hook.tenantId, action: 'webhook.deleted', target: { type: 'webhook', id: webhookId } },
      () => this.options.store.delete('webhooks', hook.id, hook.tenantId),
    );
  }

  async deliveries(principal: Principal, webhookId: string, query: z.infer<typeof deliveriesQuerySchema>) {
    const hook = await this.own(principal, webhookId);
    const page = await this.options.store.query(
      'webhooks',
      `SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'webhookDelivery' AND c.webhookId = @webhookId${query.status ? ' AND c.status = @status' : ''} ORDER BY c.createdAt DESC`,
      { tenantId: hook.tenantId, webhookId, ...(query.status ? { status: query.status } : {}) },
      deliveryDocumentSchema,
      { maxItems: query.limit, continuationToken: decodeCursor(query.cursor) },
    );
    return { items: page.items, nextCursor: encodeCursor(page.continuationToken) };
  }

  /** Delivers a finished delivery (delivered or dead) again: a new run, the same `webhook-id` and body. */
  async redeliver(
    principal: Principal,
    webhookId: string,
    deliveryId: string,
    starter: DeliveryStarter,
  ): Promise<DeliveryDocument> {
    const hook = await this.own(principal, webhookId);
    const updated = await this.options.store.update(
      'webhooks',
      `delivery:${deliveryId}`,
      hook.tenantId,
      deliveryDocumentSchema,
      (current) => {
        if (current.webhookId !== webhookId) return undefined;
        if (current.status === 'pending') {
          throw new AppError('conflict', `Delivery ${deliveryId} is still being delivered.`);
        }
        return {
          ...current,
          status: 'pending' as const,
          runs: current.runs + 1,
          updatedAt: this.now().toISOString(),
        };
      },
    );
    if (!updated || updated.webhookId !== webhookId) {
      throw new AppError('not_found', `Delivery ${deliveryId} was not found.`);
    }
    await this.start(updated, starter);
    return updated;
  }

  /** Sends a `webhook.test` event to one of the caller's endpoints. */
  async test(principal: Principal, webhookId: string, starter: DeliveryStarter): Promise<DeliveryDocument> {
    const hook = await this.own(principal, webhookId);
    const [delivery] = await this.publish(
      {
        tenantId: hook.tenantId,
        event: testEvent,
        key: `test:${randomUUID()}`,
        data: { webhookId, message: 'A test event from user-story-agent.' },
        webhookId,
      },
      starter,
    );
    if (!delivery) throw new AppError('not_found', `Webhook ${webhookId} was not found.`);
    return delivery;
  }

  /** After a job's final state is written: its terminal event, and any budget threshold its cost crossed. */
  async afterJobFinished(ref: JobRef, starter: DeliveryStarter): Promise<void> {
    const job = await this.options.jobs.find(ref.tenantId, ref.jobId);
    if (!job || !finishedStatuses.has(job.status)) return;
    const endpoints = await this.tenantEndpoints(ref.tenantId);
    await this.jobFinished(job, starter, endpoints);
    // The month's spend is a sum over every usage record of the tenant's month: worked out only when an
    // endpoint listens for it, not after every job of every tenant.
    if (!endpoints.some((hook) => hook.events.includes('budget.threshold'))) return;
    const spend = await this.options.monthSpend(ref.tenantId);
    if (spend.budgetUsd <= 0) return;
    const percent = (spend.spentUsd / spend.budgetUsd) * 100;
    for (const threshold of budgetThresholds.filter((value) => percent >= value)) {
      await this.publish(
        {
          tenantId: ref.tenantId,
          event: 'budget.threshold',
          key: `budget.threshold:${spend.month}:${threshold}`,
          data: { tenantId: ref.tenantId, threshold, ...spend },
        },
        starter,
        endpoints,
      );
    }
  }

  /** The job's terminal event (completed, failed, cancelled) to its owner's subscribed endpoints. */
  async jobFinished(
    job: JobDocument,
    starter: DeliveryStarter,
    endpoints?: readonly WebhookDocument[],
  ): Promise<void> {
    const event =
      job.status === 'completed'
        ? 'job.completed'
        : job.status === 'failed'
          ? 'job.failed'
          : job.status === 'cancelled'
            ? 'job.cancelled'
            : undefined;
    if (!event) return;
    await this.publish(
      {
        tenantId: job.tenantId,
        event,
        key: `${event}:${job.id}`,
        data: {
          jobId: job.id,
          userId: job.userId,
          status: job.status,
          mode: job.mode,
          productType: job.productType,
          iterations: job.iterations,
          createdAt: job.createdAt,
          ...(job.completedAt ? { completedAt: job.completedAt } : {}),
          usage: {
            inputTokens: job.usage.inputTokens,
            outputTokens: job.usage.outputTokens,
            costUsd: job.usage.costUsd,
          },
          ...(job.error ? { error: job.error } : {}),
          ...(job.retryOf ? { retryOf: job.retryOf } : {}),
          links: { self: `/api/v1/jobs/${job.id}` },
        },
        owner: { userId: job.userId, ...(job.result ? { story: job.result.story } : {}) },
      },
      starter,
      endpoints,
    );
  }

  /**
   * Writes one delivery per subscribed endpoint and starts its run. Idempotent: a delivery's id derives from
   * (endpoint, event key), so publishing again (a re-run activity) finds the delivery and its run.
   * `endpointsOfTenant` saves the read when the caller already has all of the tenant's endpoints.
   */
  async publish(
    published: PublishedEvent,
    starter: DeliveryStarter,
    endpointsOfTenant?: readonly WebhookDocument[],
  ): Promise<DeliveryDocument[]> {
    const endpoints = (endpointsOfTenant ?? (await this.tenantEndpoints(published.tenantId))).filter(
      (hook) =>
        (published.webhookId === undefined
          ? hook.events.some((event) => event === published.event)
          : hook.webhookId === published.webhookId) &&
        (published.owner === undefined || hook.userId === published.owner.userId),
    );
    const deliveries: DeliveryDocument[] = [];
    for (const hook of endpoints) {
      const deliveryId = createHash('sha256')
        .update(`${hook.webhookId}\n${published.key}`)
        .digest('base64url')
        .slice(0, 24);
      const at = this.now().toISOString();
      const story =
        hook.includeStory && published.owner?.story !== undefined ? { story: published.owner.story } : {};
      const delivery: DeliveryDocument = {
        id: `delivery:${deliveryId}`,
        tenantId: published.tenantId,
        type: 'webhookDelivery',
        deliveryId,
        webhookId: hook.webhookId,
        messageId: `msg_${deliveryId}`,
        event: published.event,
        payload: JSON.stringify({
          type: published.event,
          timestamp: at,
          data: { ...published.data, ...story },
        }),
        status: 'pending',
        runs: 1,
        attempts: [],
        createdAt: at,
        updatedAt: at,
      };
      let stored = delivery;
      try {
        await this.options.store.create('webhooks', delivery);
      } catch (error: unknown) {
        if (!(error instanceof DocumentExistsError)) throw error;
        const existing = await this.options.store.read(
          'webhooks',
          delivery.id,
          delivery.tenantId,
          deliveryDocumentSchema,
        );
        if (!existing) throw error;
        stored = existing.document;
      }
      await this.start(stored, starter);
      deliveries.push(stored);
    }
    return deliveries;
  }

  private async start(delivery: DeliveryDocument, starter: DeliveryStarter): Promise<void> {
    await starter.start(deliveryInstanceId(delivery.deliveryId, delivery.runs), {
      tenantId: delivery.tenantId,
      deliveryId: delivery.deliveryId,
      run: delivery.runs,
      delaysSeconds: this.options.delaysSeconds,
    });
  }

  /** One attempt of a run: signs and sends the stored body, records the outcome, says whether to go on. */
  async attempt(input: WebhookAttemptInput): Promise<WebhookAttemptOutput> {
    const { store } = this.options;
    const found = await store.read(
      'webhooks',
      `delivery:${input.deliveryId}`,
      input.tenantId,
      deliveryDocumentSchema,
    );
    if (!found) return { done: true, status: 'dead' };
    const delivery = found.document;
    if (delivery.status !== 'pending' || delivery.runs !== input.run)
      return { done: true, status: delivery.status };
    const hook = await store.read(
      'webhooks',
      `webhook:${delivery.webhookId}`,
      input.tenantId,
      webhookDocumentSchema,
    );
    const at = this.now();
    const result = hook
      ? await this.options.sender.send(
          hook.document.url,
          this.sign(hook.document, delivery, at),
          delivery.payload,
        )
      : { delivered: false, error: 'webhook_deleted', durationMs: 0 };
    const status: WebhookAttemptOutput['status'] = result.delivered
      ? 'delivered'
      : input.final || !hook
        ? 'dead'
        : 'pending';
    const attempt = {
      run: input.run,
      attempt: input.attempt,
      at: at.toISOString(),
      durationMs: result.durationMs,
      ...(result.statusCode ? { statusCode: result.statusCode } : {}),
      ...(result.error ? { error: result.error } : {}),
      ...('detail' in result && result.detail ? { detail: result.detail } : {}),
    };
    await store.update('webhooks', delivery.id, delivery.tenantId, deliveryDocumentSchema, (current) => ({
      ...current,
      status: current.status === 'delivered' ? 'delivered' : status,
      // An attempt re-run after a crash replaces its own entry.
      attempts: [
        ...current.attempts.filter((entry) => entry.run !== input.run || entry.attempt !== input.attempt),
        attempt,
      ].slice(-maxKeptAttempts),
      updatedAt: attempt.at,
    }));
    if (!result.delivered) {
      this.options.logger.warn(
        { deliveryId: delivery.deliveryId, attempt: input.attempt, error: result.error, status },
        'webhook attempt failed',
      );
    }
    return { done: status !== 'pending', status };
  }

  private sign(hook: WebhookDocument, delivery: DeliveryDocument, at: Date): Record<string, string> {
    const signer = new Webhook(openSecret(hook.secret, this.options.secretKey));
    return {
      'webhook-id': delivery.messageId,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signer.sign(delivery.messageId, at, delivery.payload),
    };
  }

  private async tenantEndpoints(tenantId: string): Promise<WebhookDocument[]> {
    const endpoints: WebhookDocument[] = [];
    for await (const hook of this.options.store.queryAll(
      'webhooks',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'webhook' ORDER BY c.createdAt",
      { tenantId },
      webhookDocumentSchema,
    )) {
      endpoints.push(hook);
    }
    return endpoints;
  }
}
