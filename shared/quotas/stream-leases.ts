import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { DocumentChangedError, DocumentExistsError, type CosmosStore } from '../adapters/cosmos-store';
import { AppError } from '../errors';
import type { QuotaOwner } from './quota-service';

/**
 * Long-lived connections held by one user (SSE streams and Web PubSub tokens), counted across instances.
 * A user with a limit of N has N numbered slots, one document each (`quotas` container, id
 * `quota-stream:<userId>:<n>`): a connection holds a slot by creating its document (Cosmos refuses a second
 * one with the same id, so no slot is ever held twice) until it ends or the lease expires (a crashed instance
 * cannot release; its leases lapse on their own, and an expired slot is taken over by an ETag-conditional
 * replace). Slots rather than one counter document, so a hundred connections opened at once each write their
 * own document instead of queueing on one ETag. After a plan downgrade, leases held in slots above the new
 * limit still count, so at most the old limit is held until they lapse.
 */
const slotSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('quota-stream'),
  userId: z.string(),
  slot: z.number().int().nonnegative(),
  expiresAt: z.string(),
  _etag: z.string().optional(),
});
type Slot = z.infer<typeof slotSchema>;

export interface StreamLeasesOptions {
  store: CosmosStore;
  /** Upper bound of `Retry-After` when the cap is reached. */
  maxRetryAfterSeconds: number;
  now?: () => Date;
}

/** A held slot: give it to `release` when the connection ends. */
export interface StreamLease {
  slotId: string;
}

const slotId = (userId: string, slot: number) => `quota-stream:${userId}:${slot}`;

export class StreamLeases {
  private readonly now: () => Date;

  constructor(private readonly options: StreamLeasesOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Takes one of the user's `limit` slots for `ttlMs`; `concurrency_limit` (429, with the seconds until the
   * soonest lease lapses) when all are held.
   */
  async acquire(owner: QuotaOwner, limit: number, ttlMs: number): Promise<StreamLease> {
    for (let round = 1; ; round++) {
      const now = this.now().getTime();
      const slots = await this.slots(owner);
      const live = slots.filter((slot) => Date.parse(slot.expiresAt) > now);
      if (live.length >= limit) throw this.full(live, now);
      const byNumber = new Map(slots.map((slot) => [slot.slot, slot]));
      // Free slots in random order, so callers arriving together rarely reach for the same one.
      const candidates = Array.from({ length: limit }, (_, n) => n)
        .filter((n) => !live.some((slot) => slot.slot === n))
        .map((n) => ({ n, sort: randomInt(1 << 30) }))
        .sort((a, b) => a.sort - b.sort);
      for (const { n } of candidates) {
        const document: Slot = {
          id: slotId(owner.userId, n),
          tenantId: owner.tenantId,
          type: 'quota-stream',
          userId: owner.userId,
          slot: n,
          expiresAt: new Date(now + ttlMs).toISOString(),
        };
        const expired = byNumber.get(n);
        try {
          if (expired?._etag) await this.options.store.replace('quotas', document, expired._etag);
          else await this.options.store.create('quotas', document);
          return { slotId: document.id };
        } catch (error: unknown) {
          if (!(error instanceof DocumentExistsError) && !(error instanceof DocumentChangedError))
            throw error;
        }
      }
      if (round >= 5) throw this.full(live, now);
    }
  }

  /**
   * Frees the slot. Safe without a condition: a lease outlives its connection (its ttl covers the longest
   * stream), so the slot is still this connection's when it ends.
   */
  async release(owner: QuotaOwner, lease: StreamLease): Promise<void> {
    await this.options.store.delete('quotas', lease.slotId, owner.tenantId);
  }

  private async slots(owner: QuotaOwner): Promise<Slot[]> {
    const slots: Slot[] = [];
    for await (const slot of this.options.store.queryAll(
      'quotas',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'quota-stream' AND c.userId = @userId",
      { tenantId: owner.tenantId, userId: owner.userId },
      slotSchema,
    )) {
      slots.push(slot);
    }
    return slots;
  }

  private full(live: Slot[], now: number): AppError {
    const soonest = Math.min(...live.map((slot) => Date.parse(slot.expiresAt)));
    return new AppError(
      'concurrency_limit',
      `You already hold ${live.length} live progress connections, the plan's limit; close one first.`,
      {
        retryAfterSeconds: Math.min(
          this.options.maxRetryAfterSeconds,
          Math.max(1, Math.ceil((soonest - now) / 1000)),
        ),
      },
    );
  }
}
