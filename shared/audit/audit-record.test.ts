import { describe, expect, it } from 'vitest';
import {
  chainRecord,
  genesisHash,
  hashRecord,
  verifyChain,
  type AuditFields,
  type AuditHead,
  type AuditRecord,
} from './audit-record';

const fields = (n: number): AuditFields => ({
  tenantId: 'acme',
  action: 'api_key.created',
  outcome: 'allowed',
  actor: { type: 'user', id: 'alice', tenantId: 'acme' },
  target: { type: 'apiKey', id: `key-${n}` },
  correlationId: `corr-${n}`,
  details: { name: `key ${n}` },
});

function chain(length: number): AuditRecord[] {
  const records: AuditRecord[] = [];
  for (let seq = 1; seq <= length; seq++) {
    records.push(chainRecord(fields(seq), seq, records.at(-1)?.hash ?? genesisHash, new Date(seq * 1000)));
  }
  return records;
}

const headOf = (records: AuditRecord[]): AuditHead => ({
  id: 'audit-head',
  tenantId: 'acme',
  type: 'auditHead',
  seq: records.at(-1)?.seq ?? 0,
  hash: records.at(-1)?.hash ?? genesisHash,
  at: new Date().toISOString(),
});

/** The records as the store hands them over: an async iterable, in `seq` order. */
async function* from(records: unknown[]) {
  for (const record of records) yield await Promise.resolve(record);
}

describe('audit hash chain', () => {
  it('chains each record on its predecessor with SHA-256 over RFC 8785 canonical JSON', () => {
    const [first, second] = chain(2);
    expect(first?.prevHash).toBe(genesisHash);
    expect(second?.prevHash).toBe(first?.hash);
    // Key order does not change the hash: the JSON is canonical.
    const reordered = Object.fromEntries(Object.entries(second!).reverse()) as AuditRecord;
    expect(hashRecord(reordered)).toBe(second?.hash);
    // Cosmos's own fields are not part of what was written.
    expect(hashRecord({ ...second!, _etag: '"x"', _ts: 1 })).toBe(second?.hash);
  });

  it('verifies an intact chain and reports its head', async () => {
    const records = chain(5);
    const result = await verifyChain('acme', from(records), headOf(records));
    expect(result).toEqual({
      tenantId: 'acme',
      valid: true,
      checked: 5,
      headSeq: 5,
      headHash: records[4]?.hash,
    });
  });

  it('names the first edited record', async () => {
    const records = chain(5);
    const edited = records.map((record) =>
      record.seq === 3 ? { ...record, details: { name: 'someone else’s key' } } : record,
    );
    expect(await verifyChain('acme', from(edited), headOf(records))).toMatchObject({
      valid: false,
      firstBrokenSeq: 3,
      reason: 'hash_mismatch',
    });
    // A field added to a stored record breaks it too.
    const added = records.map((record) => (record.seq === 2 ? { ...record, note: 'x' } : record));
    expect(await verifyChain('acme', from(added), headOf(records))).toMatchObject({ firstBrokenSeq: 2 });
  });

  it('names a record rewritten with a fresh hash by the break with its successor', async () => {
    const records = chain(5);
    const rewritten = records.map((record) => {
      if (record.seq !== 2) return record;
      const changed = { ...record, action: 'plan.created' };
      return { ...changed, hash: hashRecord(changed) };
    });
    expect(await verifyChain('acme', from(rewritten), headOf(records))).toMatchObject({
      firstBrokenSeq: 3,
      reason: 'prev_hash_mismatch',
    });
  });

  it('names a deleted record, in the middle or at the end', async () => {
    const records = chain(5);
    const middle = records.filter((record) => record.seq !== 4);
    expect(await verifyChain('acme', from(middle), headOf(records))).toMatchObject({
      firstBrokenSeq: 4,
      reason: 'missing',
      checked: 3,
    });
    const last = records.slice(0, 4);
    expect(await verifyChain('acme', from(last), headOf(records))).toMatchObject({
      firstBrokenSeq: 5,
      reason: 'missing',
    });
  });

  it('accepts a head one record behind (a writer stopped between its two writes)', async () => {
    const records = chain(4);
    expect(await verifyChain('acme', from(records), headOf(records.slice(0, 3)))).toMatchObject({
      valid: true,
      headSeq: 4,
    });
  });

  it('detects the last record replaced with a consistent hash through the head', async () => {
    const records = chain(3);
    const replaced = records.map((record) => {
      if (record.seq !== 3) return record;
      const changed = { ...record, outcome: 'denied' as const };
      return { ...changed, hash: hashRecord(changed) };
    });
    expect(await verifyChain('acme', from(replaced), headOf(records))).toMatchObject({
      firstBrokenSeq: 3,
      reason: 'head_mismatch',
    });
  });
});
