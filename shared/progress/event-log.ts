import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { DocumentExistsError, type CosmosStore } from '../adapters/cosmos-store';
import type { JobRef } from '../jobs/orchestration-contract';
import {
  progressEventSchema,
  terminalEvents,
  type ProgressEvent,
  type SequencedEvent,
} from './progress-event';

/**
 * One document per event in the `jobs` container, id `<jobId>:event:<seq>`. The sequence number is claimed by
 * creating that id: a writer that loses the race gets 409 and tries the next number, so numbers are unique
 * across processes, and `seq + 1` only ever exists once `seq` does (no gaps a reader could skip past).
 */
const eventDocumentSchema = z.intersection(
  progressEventSchema,
  z.object({
    id: z.string(),
    tenantId: z.string(),
    type: z.literal('progressEvent'),
    jobId: z.string(),
    seq: z.number().int().positive(),
    at: z.iso.datetime(),
    /** Set on events that must appear once per job even when their activity re-runs (e.g. the terminal one). */
    key: z.string().optional(),
  }),
);
type EventDocument = z.infer<typeof eventDocumentSchema>;

const lastSeqSchema = z.object({ seq: z.number().int().positive() });

function toSequenced(document: EventDocument): SequencedEvent {
  const { id: _id, tenantId: _tenant, type: _type, jobId: _job, key: _key, ...event } = document;
  return event;
}

/** The durable, ordered event log of every job: the source of truth for SSE replay and catch-up. */
export class EventLog {
  /** Last sequence number this process knows to exist, per job: saves a query per append. */
  private readonly lastSeq = new Map<string, number>();
  /**
   * Per job, every keyed event of its log up to `lastSeq`, while this process wrote all of them (the log
   * was empty when it first looked, and none of its writes found a number taken since): then a key not here
   * is nowhere in the log, and the query per keyed append is saved. Dropped at the first sign of another
   * writer, after which keys are looked up in Cosmos again.
   */
  private readonly keyedEvents = new Map<string, Map<string, SequencedEvent>>();
  /** Appends to one job are chained in-process, so parallel iterations never race each other for a number. */
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly appended = new EventEmitter();

  constructor(
    private readonly store: CosmosStore,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.appended.setMaxListeners(0);
  }

  /**
   * Appends an event and returns it with its sequence number. With `key`, an event already logged under the
   * same key is returned instead (re-run activities must not repeat e.g. the terminal event).
   */
  append(ref: JobRef, event: ProgressEvent, key?: string): Promise<SequencedEvent> {
    const previous = this.tails.get(ref.jobId) ?? Promise.resolve();
    const next = previous.then(
      () => this.write(ref, progressEventSchema.parse(event), key),
      () => this.write(ref, progressEventSchema.parse(event), key),
    );
    this.tails.set(ref.jobId, next);
    const cleanup = () => {
      if (this.tails.get(ref.jobId) === next) this.tails.delete(ref.jobId);
    };
    next.then(cleanup, cleanup);
    return next;
  }

  private async write(ref: JobRef, event: ProgressEvent, key: string | undefined): Promise<SequencedEvent> {
    let lastSeq = this.lastSeq.get(ref.jobId);
    if (lastSeq === undefined) {
      lastSeq = await this.latestSeq(ref);
      if (lastSeq === 0) this.keyedEvents.set(ref.jobId, new Map());
    }
    if (key !== undefined) {
      const known = this.keyedEvents.get(ref.jobId);
      const logged = known ? known.get(key) : await this.loggedUnder(ref, key);
      if (logged) return logged;
    }
    let seq = lastSeq + 1;
    for (;;) {
      const document = {
        id: `${ref.jobId}:event:${seq}`,
        tenantId: ref.tenantId,
        type: 'progressEvent' as const,
        jobId: ref.jobId,
        seq,
        at: this.now().toISOString(),
        ...event,
        ...(key === undefined ? {} : { key }),
      } satisfies EventDocument;
      try {
        await this.store.create('jobs', document);
      } catch (error: unknown) {
        if (!(error instanceof DocumentExistsError)) throw error;
        // Another writer appended to this job: what this process knew of its keys is no longer the whole log.
        this.keyedEvents.delete(ref.jobId);
        const logged = key === undefined ? undefined : await this.loggedUnder(ref, key);
        if (logged) return logged;
        seq += 1;
        continue;
      }
      const sequenced = toSequenced(document);
      // Nothing follows a terminal event, so the job's entries are dropped rather than kept for the process's life.
      if (terminalEvents.has(event.event)) {
        this.lastSeq.delete(ref.jobId);
        this.keyedEvents.delete(ref.jobId);
      } else {
        this.lastSeq.set(ref.jobId, seq);
        if (key !== undefined) this.keyedEvents.get(ref.jobId)?.set(key, sequenced);
      }
      this.appended.emit(ref.jobId, sequenced);
      return sequenced;
    }
  }

  /** The event logged under `key` for the job, if any. */
  private async loggedUnder(ref: JobRef, key: string): Promise<SequencedEvent | undefined> {
    const existing = await this.store.query(
      'jobs',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'progressEvent' AND c.jobId = @jobId AND c.key = @key",
      { tenantId: ref.tenantId, jobId: ref.jobId, key },
      eventDocumentSchema,
      { maxItems: 1 },
    );
    const found = existing.items[0];
    return found && toSequenced(found);
  }

  private async latestSeq(ref: JobRef): Promise<number> {
    const page = await this.store.query(
      'jobs',
      "SELECT c.seq FROM c WHERE c.tenantId = @tenantId AND c.type = 'progressEvent' AND c.jobId = @jobId ORDER BY c.seq DESC",
      { tenantId: ref.tenantId, jobId: ref.jobId },
      lastSeqSchema,
      { maxItems: 1 },
    );
    return page.items[0]?.seq ?? 0;
  }

  /** Events after `afterSeq`, in order, at most `limit` of them. */
  async after(ref: JobRef, afterSeq: number, limit = 200): Promise<SequencedEvent[]> {
    const page = await this.store.query(
      'jobs',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'progressEvent' AND c.jobId = @jobId AND c.seq > @after ORDER BY c.seq",
      { tenantId: ref.tenantId, jobId: ref.jobId, after: afterSeq },
      eventDocumentSchema,
      { maxItems: limit },
    );
    return page.items.map(toSequenced);
  }

  /**
   * Calls `listener` when this process appends an event to the job; returns the unsubscribe function.
   * Only a hint that wakes followers early: events written by other instances are found by polling.
   */
  onAppend(jobId: string, listener: () => void): () => void {
    this.appended.on(jobId, listener);
    return () => this.appended.off(jobId, listener);
  }
}
