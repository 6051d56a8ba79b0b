import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';

/**
 * One audit record and its place in its tenant's hash chain. Pure: no I/O, so the chain rules are tested on
 * their own (`audit-record.test.ts`) and the store (`audit-trail.ts`) only decides where records go.
 *
 * `hash = SHA-256(prevHash || canonical JSON of the record)`, hex. The canonical JSON is RFC 8785 (JCS, the
 * `canonicalize` package): sorted keys, no whitespace, one number format, so any reader in any language
 * recomputes the same bytes. Every stored field but `hash` itself is covered (Cosmos's `_rid`/`_etag`/...
 * system fields excepted), so editing, adding or removing any field of a stored record breaks the chain.
 */

/** The `prevHash` of a tenant's first record. */
export const genesisHash = '0'.repeat(64);

/**
 * Who did it: a signed-in user, an API key (acting for its owner), a CI workload under a trust policy, the
 * service itself, or nobody known.
 */
export const auditActorSchema = z.object({
  type: z.enum(['user', 'apiKey', 'workload', 'system', 'anonymous']),
  /**
   * The user id (`sub`, `openwebui:...`, `github:<repository>`), the service component's name, or the source
   * address of an anonymous caller.
   */
  id: z.string(),
  /** The actor's own tenant; differs from the record's tenant when an admin acts on another tenant. */
  tenantId: z.string().optional(),
  keyId: z.string().optional(),
});
export type AuditActor = z.infer<typeof auditActorSchema>;

export const auditOutcomeSchema = z
  .enum(['allowed', 'denied', 'failed'])
  .describe(
    'allowed: authorised and carried out (written before its effect); denied: refused (rate limit, failed authentication); failed: an allowed action that then did not take effect.',
  );
export type AuditOutcome = z.infer<typeof auditOutcomeSchema>;

/** Small, non-secret facts about the action (a plan id, a decision, an error code). Never credentials. */
export const auditDetailsSchema = z.record(
  z.string().max(60),
  z.union([z.string().max(300), z.number(), z.boolean(), z.null()]),
);

export const auditRecordSchema = z.looseObject({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('audit'),
  seq: z.number().int().positive(),
  at: z.iso.datetime(),
  action: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'dotted lowercase, e.g. api_key.created'),
  outcome: auditOutcomeSchema,
  actor: auditActorSchema,
  target: z.object({ type: z.string(), id: z.string() }),
  correlationId: z.string().optional(),
  sourceIp: z.string().optional(),
  details: auditDetailsSchema,
  prevHash: z.string().regex(/^[0-9a-f]{64}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;

/** The chain's head: where the next record goes. A pointer only: the records are the truth (see the trail). */
export const auditHeadSchema = z.object({
  id: z.literal('audit-head'),
  tenantId: z.string(),
  type: z.literal('auditHead'),
  seq: z.number().int().nonnegative(),
  hash: z.string(),
  at: z.string(),
});
export type AuditHead = z.infer<typeof auditHeadSchema>;

export const auditRecordId = (seq: number) => `audit:${seq}`;

/** Cosmos adds these to every document it returns; they are not part of what was written. */
const systemFields = new Set(['_rid', '_self', '_etag', '_attachments', '_ts']);

/** The record's hash from its stored form: every field but `hash` and Cosmos's own, chained on `prevHash`. */
export function hashRecord(record: Record<string, unknown> & { prevHash: string }): string {
  const covered = Object.fromEntries(
    Object.entries(record).filter(([key]) => key !== 'hash' && !systemFields.has(key)),
  );
  const canonical = canonicalize(covered);
  if (canonical === undefined) throw new Error('An audit record must be a JSON object.');
  return createHash('sha256').update(record.prevHash).update(canonical).digest('hex');
}

/** What a caller says about an action; the trail adds the chain fields. */
export interface AuditFields {
  tenantId: string;
  action: string;
  outcome: AuditOutcome;
  actor: AuditActor;
  target: { type: string; id: string };
  correlationId?: string | undefined;
  sourceIp?: string | undefined;
  details: z.infer<typeof auditDetailsSchema>;
}

/** The record at `seq`, chained after a record whose hash is `prevHash`. */
export function chainRecord(fields: AuditFields, seq: number, prevHash: string, at: Date): AuditRecord {
  const unhashed = {
    id: auditRecordId(seq),
    tenantId: fields.tenantId,
    type: 'audit' as const,
    seq,
    at: at.toISOString(),
    action: fields.action,
    outcome: fields.outcome,
    actor: fields.actor,
    target: fields.target,
    ...(fields.correlationId === undefined ? {} : { correlationId: fields.correlationId }),
    ...(fields.sourceIp === undefined ? {} : { sourceIp: fields.sourceIp }),
    details: fields.details,
    prevHash,
  };
  return auditRecordSchema.parse({ ...unhashed, hash: hashRecord(unhashed) });
}

export const verifyResultSchema = z.object({
  tenantId: z.string(),
  valid: z.boolean(),
  checked: z.number().int().describe('Records read and recomputed.'),
  firstBrokenSeq: z.number().int().optional().describe('The first sequence number that does not verify.'),
  reason: z
    .enum(['missing', 'hash_mismatch', 'prev_hash_mismatch', 'head_mismatch', 'unreadable'])
    .optional(),
  headSeq: z.number().int().describe('The last sequence number the chain holds.'),
  headHash: z
    .string()
    .describe('Hash of the last record: keep it outside the service to detect a wholesale rewrite later.'),
});
export type VerifyResult = z.infer<typeof verifyResultSchema>;

/**
 * Walks records in `seq` order (as they come from the store) and reports the first that breaks the chain: a
 * gap (a deleted record), an edited record (its hash no longer matches), a re-chained record (its `prevHash`
 * is not its predecessor's hash), or a head that points past the last record (records deleted at the end).
 */
export async function verifyChain(
  tenantId: string,
  records: AsyncIterable<unknown>,
  head: AuditHead | undefined,
): Promise<VerifyResult> {
  let expected = 1;
  let prevHash = genesisHash;
  let checked = 0;
  const broken = (seq: number, reason: NonNullable<VerifyResult['reason']>): VerifyResult => ({
    tenantId,
    valid: false,
    checked,
    firstBrokenSeq: seq,
    reason,
    headSeq: head?.seq ?? 0,
    headHash: head?.hash ?? genesisHash,
  });
  for await (const raw of records) {
    const parsed = auditRecordSchema.safeParse(raw);
    const seq = typeof raw === 'object' && raw !== null && 'seq' in raw ? Number(raw.seq) : expected;
    if (seq > expected) return broken(expected, 'missing');
    checked++;
    if (!parsed.success) return broken(seq, 'unreadable');
    const record = parsed.data;
    if (record.prevHash !== prevHash) return broken(seq, 'prev_hash_mismatch');
    if (hashRecord(record) !== record.hash) return broken(seq, 'hash_mismatch');
    // The head keeps the hash it was advanced with: a last record rewritten with a fresh hash still differs.
    if (head && head.seq === seq && head.hash !== record.hash) return broken(seq, 'head_mismatch');
    prevHash = record.hash;
    expected++;
  }
  const last = expected - 1;
  // The head may lag its last record by one (a writer stopped between the two writes), never lead it.
  if (head && head.seq > last) return broken(last + 1, 'missing');
  return { tenantId, valid: true, checked, headSeq: last, headHash: prevHash };
}
