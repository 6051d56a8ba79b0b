import { z } from 'zod';
import {
  DocumentChangedError,
  DocumentExistsError,
  type CosmosStore,
  type Versioned,
} from '../adapters/cosmos-store';
import { decodeCursor, encodeCursor } from '../adapters/page-cursor';
import type { Principal } from '../auth/principal';
import { AppError, toAppError } from '../errors';
import { currentRequest } from '../http/request-context';
import type { Logger } from '../logger';
import {
  auditHeadSchema,
  auditRecordId,
  auditRecordSchema,
  chainRecord,
  genesisHash,
  verifyChain,
  type AuditActor,
  type AuditFields,
  type AuditHead,
  type AuditOutcome,
  type AuditRecord,
  type VerifyResult,
} from './audit-record';

/** What a caller tells the trail: the rest (actor, correlation id, source address) comes from the request. */
export interface AuditEntry {
  /** Whose chain the record joins: the tenant whose data or settings the action touched. */
  tenantId: string;
  /** Dotted and past tense, e.g. `api_key.created`, `plan.retired`, `webhook.deleted`. */
  action: string;
  target: { type: string; id: string };
  /** Default `allowed`. */
  outcome?: AuditOutcome;
  details?: AuditFields['details'];
  /** Only outside a request (timers, activities); inside one the authenticated caller is the actor. */
  actor?: AuditActor;
}

export const auditListQuerySchema = z.object({
  tenantId: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Whose trail; required for platform admins, defaults to your own tenant otherwise.'),
  from: z.iso.datetime({ offset: true }).optional().describe('Records at or after this instant (ISO 8601).'),
  to: z.iso.datetime({ offset: true }).optional().describe('Records before this instant (ISO 8601).'),
  action: z.string().max(100).optional().describe('Only this action, e.g. api_key.created.'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(4000).optional().describe('nextCursor of the previous page.'),
});
export type AuditListQuery = z.infer<typeof auditListQuerySchema>;

export interface AuditTrailOptions {
  store: CosmosStore;
  logger: Logger;
  now?: () => Date;
}

/** Contention on one tenant's head is brief; this many tries under jittered backoff always gets through. */
const maxAttempts = 100;
const pause = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 5 + attempt * 5)));

const headId = 'audit-head';

function actorOf(principal: Principal): AuditActor {
  const who = { id: principal.userId, tenantId: principal.tenantId };
  switch (principal.via) {
    case 'jwt':
      return { type: 'user', ...who };
    // An OpenWebUI connection's key, acting for itself or for the chat user of its signed JWT.
    case 'api_key':
    case 'openwebui':
      return { type: 'apiKey', ...who, keyId: principal.keyId };
    case 'workload':
      return { type: 'workload', ...who };
  }
}

const unwritten = (cause: unknown) =>
  new AppError(
    'upstream_unavailable',
    'The audit trail could not be written, so the action was not carried out; retry shortly.',
    { cause, retryAfterSeconds: 2 },
  );

/**
 * The append-only audit trail: per tenant, records `audit:1`, `audit:2`, ... in the `audit` container, each
 * hash-chained to the one before, and a head document pointing at the last.
 *
 * Why this order of writes, and why nothing is ever silently missing:
 * 1. A record's sequence number is claimed by *creating* the document `audit:<seq>`; Cosmos refuses a second
 *    document with that id in the partition (409), so there is exactly one record per `seq`, whichever
 *    instance writes it.
 * 2. `seq` and `prevHash` come from the head, read with its ETag. The head is advanced only after the record
 *    exists and only by an ETag-conditional replace, so it never points at a missing record and never moves
 *    backwards. A writer that stopped between the two writes leaves the head one behind; the next writer finds
 *    `audit:<seq>` taken (409), advances the head past it on the stopped writer's behalf, and tries again. So
 *    sequence numbers have no holes: a hole can only come from deletion, which `verify` reports.
 * 3. The record is written *before* the action takes effect (`recorded`): if it cannot be written the action
 *    is refused and nothing changed; if the action then fails, a `failed` record follows. The trail may show
 *    an attempt that did not take effect (marked so), never an effect without a record.
 *
 * Why appends are queued per tenant in the process, and the head is remembered: a tenant's chain takes one
 * record at a time whatever we do, but writers racing for the same `seq` each pay a read, a refused create,
 * a read of the winner's record and a backoff per lost round, so 8 job creations at once in one tenant
 * spent most of their time losing (a record took ~0.8 s at the median). Queued, they take turns without a
 * conflict; and the head this process last wrote (with its ETag) is where its next record goes, so a turn
 * is one create plus one conditional replace, without the head read. Another instance's writes still show
 * up as the 409 of rule 1, which sends this writer back to reading the head. The caller goes on as soon as
 * its record exists: the head replace (rule 2) overlaps the action, and the next turn waits for it.
 */
export class AuditTrail {
  private readonly now: () => Date;
  /** Per tenant: the head as this process last wrote it (ETag included); forgotten on any doubt. */
  private readonly heads = new Map<string, Versioned<AuditHead>>();
  /** Per tenant: the end of this process's queue of appends (see the class comment). */
  private readonly turns = new Map<string, Promise<unknown>>();

  constructor(private readonly options: AuditTrailOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Appends one record to the tenant's chain and returns it. The actor, correlation id and source address
   * come from the current request (or `entry.actor` outside one). Throws `upstream_unavailable` when the
   * record cannot be written: callers let that refuse their action.
   */
  async record(entry: AuditEntry): Promise<AuditRecord> {
    const request = currentRequest();
    const fields: AuditFields = {
      tenantId: entry.tenantId,
      action: entry.action,
      outcome: entry.outcome ?? 'allowed',
      actor:
        entry.actor ??
        (request?.principal
          ? actorOf(request.principal)
          : { type: 'anonymous', id: request?.sourceIp ?? 'unknown' }),
      target: entry.target,
      correlationId: request?.correlationId,
      sourceIp: request?.sourceIp,
      details: entry.details ?? {},
    };
    try {
      return await this.append(fields);
    } catch (error: unknown) {
      this.options.logger.error(
        { tenantId: entry.tenantId, action: entry.action, code: toAppError(error).code },
        'audit record not written',
      );
      throw unwritten(error);
    }
  }

  /**
   * Records the action, then carries it out: refused when the record cannot be written; when `effect` fails,
   * a `failed` record (best effort) follows and the effect's error is rethrown.
   */
  async recorded<T>(entry: AuditEntry, effect: () => Promise<T>): Promise<T> {
    await this.record(entry);
    try {
      return await effect();
    } catch (error: unknown) {
      await this.record({
        ...entry,
        outcome: 'failed',
        details: { ...entry.details, code: toAppError(error).code },
      }).catch(() => undefined);
      throw error;
    }
  }

  /** Records that an admin read another tenant's data (reading one's own needs no record). */
  async adminRead(
    principal: Principal,
    tenantId: string,
    target: { type: string; id: string },
  ): Promise<void> {
    if (principal.tenantId === tenantId) return;
    await this.record({ tenantId, action: 'admin.tenant_data_read', target });
  }

  /** Queues the append behind this process's earlier ones for the tenant; resolves once the record exists. */
  private append(fields: AuditFields): Promise<AuditRecord> {
    const { tenantId } = fields;
    const turn = (this.turns.get(tenantId) ?? Promise.resolve()).then(() => this.appendInTurn(fields));
    // The next turn starts once this one's head replace is done, whether or not this one succeeded.
    const done = turn.then(
      ({ headAdvanced }) => headAdvanced,
      () => undefined,
    );
    this.turns.set(tenantId, done);
    void done.then(() => {
      if (this.turns.get(tenantId) === done) this.turns.delete(tenantId);
    });
    return turn.then(({ record }) => record);
  }

  private async appendInTurn(
    fields: AuditFields,
  ): Promise<{ record: AuditRecord; headAdvanced: Promise<void> }> {
    const { store } = this.options;
    const { tenantId } = fields;
    for (let attempt = 1; ; attempt++) {
      const head = this.heads.get(tenantId) ?? (await store.read('audit', headId, tenantId, auditHeadSchema));
      this.heads.delete(tenantId);
      const seq = (head?.document.seq ?? 0) + 1;
      const record = chainRecord(fields, seq, head?.document.hash ?? genesisHash, this.now());
      try {
        await store.create('audit', record);
      } catch (error: unknown) {
        if (!(error instanceof DocumentExistsError) || attempt >= maxAttempts) throw error;
        // Another writer holds `seq` but has not advanced the head yet (or never will): do it for them.
        const taken = await store.read('audit', auditRecordId(seq), tenantId, auditRecordSchema);
        if (taken) await this.advanceHead(tenantId, head, taken.document).catch(() => undefined);
        await pause(attempt);
        continue;
      }
      // The record is in the chain now; a head left behind here is advanced by the next writer.
      const headAdvanced = this.advanceHead(tenantId, head, record).then(
        (advanced) => {
          if (advanced) this.heads.set(tenantId, advanced);
        },
        (error: unknown) => {
          this.options.logger.warn(
            { tenantId, seq, code: toAppError(error).code },
            'audit head not advanced',
          );
        },
      );
      return { record, headAdvanced };
    }
  }

  /** Moves the head to `record`; undefined when another writer moved it first (from the same read). */
  private async advanceHead(
    tenantId: string,
    head: Versioned<AuditHead> | undefined,
    record: AuditRecord,
  ): Promise<Versioned<AuditHead> | undefined> {
    const next: AuditHead = {
      id: headId,
      tenantId,
      type: 'auditHead',
      seq: record.seq,
      hash: record.hash,
      at: record.at,
    };
    try {
      return head
        ? await this.options.store.replace('audit', next, head.etag)
        : await this.options.store.create('audit', next);
    } catch (error: unknown) {
      // Someone else advanced it first: from the same read, so to the same record.
      if (!(error instanceof DocumentChangedError) && !(error instanceof DocumentExistsError)) throw error;
      return undefined;
    }
  }

  /** A page of the tenant's trail, newest first. */
  async list(tenantId: string, query: Omit<AuditListQuery, 'tenantId'>) {
    const filters = [
      ...(query.from ? [' AND c.at >= @from'] : []),
      ...(query.to ? [' AND c.at < @to'] : []),
      ...(query.action ? [' AND c.action = @action'] : []),
    ].join('');
    const page = await this.options.store.query(
      'audit',
      `SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'audit'${filters} ORDER BY c.seq DESC`,
      {
        tenantId,
        ...(query.from ? { from: new Date(query.from).toISOString() } : {}),
        ...(query.to ? { to: new Date(query.to).toISOString() } : {}),
        ...(query.action ? { action: query.action } : {}),
      },
      auditRecordSchema,
      { maxItems: query.limit, continuationToken: decodeCursor(query.cursor) },
    );
    return { items: page.items.map(toAuditView), nextCursor: encodeCursor(page.continuationToken) };
  }

  /** Recomputes the tenant's whole chain from its first record. */
  async verify(tenantId: string): Promise<VerifyResult> {
    // This process's own appends are in the chain it checks, head included.
    await this.turns.get(tenantId);
    const head = await this.options.store.read('audit', headId, tenantId, auditHeadSchema);
    const records = this.options.store.queryAll(
      'audit',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'audit' ORDER BY c.seq",
      { tenantId },
      z.unknown(),
    );
    return verifyChain(tenantId, records, head?.document);
  }
}

/** A record as the API shows it: without the storage id and Cosmos's own fields. */
export function toAuditView(record: AuditRecord) {
  return auditViewSchema.parse(record);
}

export const auditViewSchema = z.object(auditRecordSchema.shape).omit({ id: true, type: true });
export type AuditView = z.infer<typeof auditViewSchema>;
