import { describe, expect, it } from 'vitest';
import { DocumentChangedError, DocumentExistsError, type CosmosStore } from '../adapters/cosmos-store';
import { createLogger } from '../logger';
import { AuditTrail } from './audit-trail';

/** The calls the trail makes, over one in-memory partition, with Cosmos' 409 on a taken id and 412 on a stale ETag. */
function memoryStore() {
  const documents = new Map<string, { document: Record<string, any>; etag: string }>();
  const calls = { read: 0, create: 0, refusedCreate: 0, replace: 0 };
  let version = 0;
  const store = {
    read: async (
      _container: string,
      id: string,
      _tenantId: string,
      schema: { parse: (v: unknown) => any },
    ) => {
      await Promise.resolve();
      calls.read += 1;
      const found = documents.get(id);
      return found && { document: schema.parse(found.document), etag: found.etag };
    },
    create: async (_container: string, document: { id: string }) => {
      await Promise.resolve();
      calls.create += 1;
      if (documents.has(document.id)) {
        calls.refusedCreate += 1;
        throw new DocumentExistsError('The document');
      }
      const etag = String(++version);
      documents.set(document.id, { document, etag });
      return { document, etag };
    },
    replace: async (_container: string, document: { id: string }, etag: string) => {
      await Promise.resolve();
      calls.replace += 1;
      if (documents.get(document.id)?.etag !== etag) throw new DocumentChangedError('The document');
      const next = String(++version);
      documents.set(document.id, { document, etag: next });
      return { document, etag: next };
    },
    queryAll: async function* () {
      await Promise.resolve();
      const records = [...documents.values()]
        .map((entry) => entry.document)
        .filter((document) => document.type === 'audit')
        .sort((a, b) => a.seq - b.seq);
      yield* records;
    },
  };
  return { store: store as unknown as CosmosStore, calls };
}

const logger = createLogger('test', 'silent');
const entry = (index: number) => ({
  tenantId: 'acme',
  action: 'job.created',
  target: { type: 'job', id: `job-${index}` },
  actor: { type: 'user' as const, id: 'alice', tenantId: 'acme' },
});

describe('audit trail appends', () => {
  it('lets one process take turns on a tenant chain: no refused create, one head read in all', async () => {
    const { store, calls } = memoryStore();
    const trail = new AuditTrail({ store, logger });
    const records = await Promise.all(Array.from({ length: 20 }, (_, index) => trail.record(entry(index))));

    expect(records.map((record) => record.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, index) => index + 1),
    );
    expect(calls.refusedCreate).toBe(0);
    expect(calls.read).toBe(1);
    expect(await trail.verify('acme')).toMatchObject({ valid: true, checked: 20, headSeq: 20 });
  });

  it('keeps the chain gapless when another process appends between its own records', async () => {
    const { store } = memoryStore();
    const first = new AuditTrail({ store, logger });
    const second = new AuditTrail({ store, logger });
    for (let index = 0; index < 6; index++) {
      await Promise.all([first.record(entry(index)), second.record(entry(100 + index))]);
    }
    // The first process's remembered head is stale now: its next record still lands on the next number.
    const last = await first.record(entry(999));
    expect(last.seq).toBe(13);
    expect(await second.verify('acme')).toMatchObject({ valid: true, checked: 13 });
  });
});
