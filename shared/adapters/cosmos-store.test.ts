import { CosmosClient } from '@azure/cosmos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startCosmos, type StartedProcess } from '../../test/support/local-services';
import { AppError } from '../errors';
import { CosmosStore, DocumentChangedError, DocumentExistsError, translateCosmosError } from './cosmos-store';

/** What the Cosmos SDK throws: an ErrorResponse with `code` (and often `statusCode`) and a chatty message. */
const sdkError = (code: number) =>
  Object.assign(new Error(`Message: {"Errors":["Resource with specified id... ActivityId: 42"]}`), {
    code,
    statusCode: code,
  });

describe('translateCosmosError', () => {
  it('reports 409 as DocumentExistsError and 412 as DocumentChangedError, distinct types', () => {
    const exists = translateCosmosError(sdkError(409), 'The job');
    const changed = translateCosmosError(sdkError(412), 'The job');
    expect(exists).toBeInstanceOf(DocumentExistsError);
    expect(exists).not.toBeInstanceOf(DocumentChangedError);
    expect(changed).toBeInstanceOf(DocumentChangedError);
    expect(changed).not.toBeInstanceOf(DocumentExistsError);
    // Either one that escapes to a client is a 409 conflict, as before.
    expect([exists.code, exists.status, changed.code, changed.status]).toEqual([
      'conflict',
      409,
      'conflict',
      409,
    ]);
    expect(exists.message).toBe('The job already exists.');
    expect(changed.message).toBe('The job was changed concurrently.');
  });

  it('maps 404 to not_found, 429 to a retryable upstream_unavailable, anything else to upstream_unavailable', () => {
    expect(translateCosmosError(sdkError(404), 'The plan')).toMatchObject({ code: 'not_found' });
    expect(translateCosmosError(sdkError(429), 'The plan')).toMatchObject({
      code: 'upstream_unavailable',
      retryable: true,
      retryAfterSeconds: 1,
    });
    for (const error of [sdkError(500), sdkError(503), new Error('ECONNREFUSED'), 'weird']) {
      const translated = translateCosmosError(error, 'The plan');
      expect(translated).toBeInstanceOf(AppError);
      expect(translated.code).toBe('upstream_unavailable');
    }
  });

  it('reads the status from statusCode when code is not a number, and never passes the SDK message on', () => {
    const error = Object.assign(new Error('internal detail'), { code: 'Conflict', statusCode: 409 });
    const translated = translateCosmosError(error, 'The key');
    expect(translated).toBeInstanceOf(DocumentExistsError);
    expect(translated.message).not.toContain('internal detail');
    expect(translated.cause).toBe(error);
  });
});

describe('CosmosStore against the local Cosmos emulator', () => {
  let cosmos: { endpoint: string; process: StartedProcess };
  let store: CosmosStore;
  const documentSchema = z.object({ id: z.string(), tenantId: z.string(), count: z.number() });

  beforeAll(async () => {
    cosmos = await startCosmos();
    const client = new CosmosClient({
      endpoint: cosmos.endpoint,
      key: 'local-emulator',
      connectionPolicy: { enableEndpointDiscovery: false },
    });
    store = await CosmosStore.initialize(client, 'cosmos-store-test');
  });

  afterAll(async () => {
    await cosmos?.process.stop();
  });

  it('a second create of the same id is a DocumentExistsError', async () => {
    await store.create('quotas', { id: 'counter-a', tenantId: 'acme', count: 1 });
    const second = store.create('quotas', { id: 'counter-a', tenantId: 'acme', count: 2 });
    await expect(second).rejects.toBeInstanceOf(DocumentExistsError);
  });

  it('a replace at a stale ETag is a DocumentChangedError; update works from a fresh read', async () => {
    const created = await store.create('quotas', { id: 'counter-b', tenantId: 'acme', count: 1 });
    await store.replace('quotas', { ...created.document, count: 2 }, created.etag);
    const stale = store.replace('quotas', { ...created.document, count: 3 }, created.etag);
    await expect(stale).rejects.toBeInstanceOf(DocumentChangedError);

    // update() reads the current ETag again, so the same change goes through.
    const updated = await store.update('quotas', 'counter-b', 'acme', documentSchema, (current) => ({
      ...current,
      count: current.count + 1,
    }));
    expect(updated?.count).toBe(3);
  });
});
