import type { Container, CosmosClient, Database, SqlParameter } from '@azure/cosmos';
import { z } from 'zod';
import { AppError } from '../errors';

/**
 * The one place the app talks to Cosmos DB. Every container is partitioned by `/tenantId`; every query must
 * filter on the tenant in its SQL (the partition-key option alone is not a security boundary, and the local
 * emulator ignores it), which `query` enforces. Cosmos errors become `AppError`s here.
 */

/**
 * Every container the app uses, with its partition key path. In Azure the app's identity cannot create
 * containers, so `infra/modules/cosmos.bicep` provisions exactly these (a test compares the two).
 */
export const cosmosContainers = [
  { name: 'tenants', partitionKeyPath: '/tenantId' },
  { name: 'jobs', partitionKeyPath: '/tenantId' },
  { name: 'usage', partitionKeyPath: '/tenantId' },
  { name: 'apiKeys', partitionKeyPath: '/tenantId' },
  { name: 'quotas', partitionKeyPath: '/tenantId' },
  { name: 'audit', partitionKeyPath: '/tenantId' },
  { name: 'webhooks', partitionKeyPath: '/tenantId' },
  { name: 'uploads', partitionKeyPath: '/tenantId' },
  { name: 'alerts', partitionKeyPath: '/tenantId' },
] as const;
export type ContainerName = (typeof cosmosContainers)[number]['name'];

/** Partition for documents that belong to no tenant (plans, key lookups). */
export const platformPartition = '_platform';

/**
 * `text` made safe inside a document id, which may not contain `/`, `\`, `?` or `#` (user ids such as
 * `github:owner/repo` do): those and `%` are percent-encoded, everything else is kept, so ids of text
 * without them do not change.
 */
export function idSegment(text: string): string {
  return text.replace(/[/\\?#%]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface Versioned<T> {
  document: T;
  etag: string;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = 'code' in error ? error.code : undefined;
  if (typeof code === 'number') return code;
  const statusCode = 'statusCode' in error ? error.statusCode : undefined;
  return typeof statusCode === 'number' ? statusCode : undefined;
}

/**
 * A create found a document with the same id in the partition (Cosmos DB 409). Callers that create to claim
 * an id (idempotency keys, event numbers, seeding) catch this one; unhandled, it answers 409 `conflict`.
 */
export class DocumentExistsError extends AppError {
  constructor(what: string, options: { cause?: unknown } = {}) {
    super('conflict', `${what} already exists.`, options);
    this.name = 'DocumentExistsError';
  }
}

/**
 * A conditional write found the document changed since it was read (Cosmos DB 412, ETag mismatch): read it
 * again and retry. Unhandled, it answers 409 `conflict`.
 */
export class DocumentChangedError extends AppError {
  constructor(what: string, options: { cause?: unknown } = {}) {
    super('conflict', `${what} was changed concurrently.`, options);
    this.name = 'DocumentChangedError';
  }
}

/** Translates a Cosmos SDK failure into the project's vocabulary, without leaking its message. */
export function translateCosmosError(error: unknown, what: string): AppError {
  const status = statusOf(error);
  if (status === 404) return new AppError('not_found', `${what} was not found.`, { cause: error });
  if (status === 409) return new DocumentExistsError(what, { cause: error });
  if (status === 412) return new DocumentChangedError(what, { cause: error });
  if (status === 429) {
    return new AppError('upstream_unavailable', 'The database is busy; retry shortly.', {
      cause: error,
      retryAfterSeconds: 1,
    });
  }
  return new AppError('upstream_unavailable', 'The database is unavailable; retry shortly.', {
    cause: error,
  });
}

const tenantFilter = /\bc\.tenantId\s*=\s*@tenantId\b/;

export class CosmosStore {
  private readonly database: Database;

  constructor(client: CosmosClient, databaseId: string) {
    this.database = client.database(databaseId);
  }

  /** Creates the database and containers if they are missing; safe to call from every instance at start-up. */
  static async initialize(client: CosmosClient, databaseId: string): Promise<CosmosStore> {
    // Instances starting together race to create: the loser of a create sees 409 and finds the winner's.
    const ensure = async <T>(create: () => Promise<T>): Promise<T> => {
      try {
        return await create();
      } catch (error: unknown) {
        if (statusOf(error) !== 409) throw error;
        return create();
      }
    };
    try {
      const { database } = await ensure(() => client.databases.createIfNotExists({ id: databaseId }));
      for (const { name, partitionKeyPath } of cosmosContainers) {
        await ensure(() =>
          database.containers.createIfNotExists({ id: name, partitionKey: { paths: [partitionKeyPath] } }),
        );
      }
    } catch (error: unknown) {
      throw translateCosmosError(error, 'The database');
    }
    return new CosmosStore(client, databaseId);
  }

  private container(name: ContainerName): Container {
    return this.database.container(name);
  }

  async read<T>(
    name: ContainerName,
    id: string,
    tenantId: string,
    schema: z.ZodType<T>,
  ): Promise<Versioned<T> | undefined> {
    try {
      const response = await this.container(name).item(id, tenantId).read<Record<string, unknown>>();
      if (response.statusCode === 404 || response.resource === undefined) return undefined;
      return { document: schema.parse(response.resource), etag: response.etag };
    } catch (error: unknown) {
      if (statusOf(error) === 404) return undefined;
      if (error instanceof z.ZodError) throw error;
      throw translateCosmosError(error, 'The document');
    }
  }

  /** Creates a document; `DocumentExistsError` if one with the same id exists in the partition. */
  async create<T extends { id: string; tenantId: string }>(
    name: ContainerName,
    document: T,
  ): Promise<Versioned<T>> {
    try {
      const response = await this.container(name).items.create(document);
      return { document, etag: response.etag };
    } catch (error: unknown) {
      throw translateCosmosError(error, 'The document');
    }
  }

  /** Replaces a document only if it is still at `etag`; `DocumentChangedError` otherwise. */
  async replace<T extends { id: string; tenantId: string }>(
    name: ContainerName,
    document: T,
    etag: string,
  ): Promise<Versioned<T>> {
    try {
      const response = await this.container(name)
        .item(document.id, document.tenantId)
        .replace(document, { accessCondition: { type: 'IfMatch', condition: etag } });
      return { document, etag: response.etag };
    } catch (error: unknown) {
      throw translateCosmosError(error, 'The document');
    }
  }

  async upsert<T extends { id: string; tenantId: string }>(
    name: ContainerName,
    document: T,
  ): Promise<Versioned<T>> {
    try {
      const response = await this.container(name).items.upsert(document);
      return { document, etag: response.etag };
    } catch (error: unknown) {
      throw translateCosmosError(error, 'The document');
    }
  }

  async delete(name: ContainerName, id: string, tenantId: string): Promise<void> {
    try {
      await this.container(name).item(id, tenantId).delete();
    } catch (error: unknown) {
      if (statusOf(error) === 404) return;
      throw translateCosmosError(error, 'The document');
    }
  }

  /**
   * Read-modify-write with optimistic concurrency: re-reads and re-applies `change` when another writer got
   * there first. `change` returns undefined to leave the document as it is.
   */
  async update<T extends { id: string; tenantId: string }>(
    name: ContainerName,
    id: string,
    tenantId: string,
    schema: z.ZodType<T>,
    change: (current: T) => T | undefined,
    attempts = 10,
  ): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.read(name, id, tenantId, schema);
      if (!current) return undefined;
      const next = change(current.document);
      if (next === undefined) return current.document;
      try {
        return (await this.replace(name, next, current.etag)).document;
      } catch (error: unknown) {
        if (!(error instanceof DocumentChangedError) || attempt >= attempts) throw error;
      }
    }
  }

  /**
   * One page of a tenant-scoped query. The SQL must contain `c.tenantId = @tenantId`: this is checked, so no
   * code path can forget the tenant filter.
   */
  async query<T>(
    name: ContainerName,
    sql: string,
    parameters: { tenantId: string } & Record<string, string | number | boolean | null | string[]>,
    schema: z.ZodType<T>,
    page: { maxItems?: number; continuationToken?: string } = {},
  ): Promise<{ items: T[]; continuationToken: string | undefined }> {
    if (!tenantFilter.test(sql))
      throw new Error(`Query on ${name} does not filter on c.tenantId = @tenantId.`);
    const sqlParameters: SqlParameter[] = Object.entries(parameters).map(([key, value]) => ({
      name: `@${key}`,
      value,
    }));
    try {
      const iterator = this.container(name).items.query<unknown>(
        { query: sql, parameters: sqlParameters },
        {
          maxItemCount: page.maxItems ?? 100,
          continuationToken: page.continuationToken,
          partitionKey: parameters.tenantId,
        },
      );
      const response = await iterator.fetchNext();
      return {
        items: response.resources.map((item) => schema.parse(item)),
        continuationToken: response.continuationToken,
      };
    } catch (error: unknown) {
      if (error instanceof z.ZodError) throw error;
      throw translateCosmosError(error, 'The query');
    }
  }

  /** Every row of a tenant-scoped query, page by page. */
  async *queryAll<T>(
    name: ContainerName,
    sql: string,
    parameters: { tenantId: string } & Record<string, string | number | boolean | null | string[]>,
    schema: z.ZodType<T>,
  ): AsyncGenerator<T> {
    let continuationToken: string | undefined;
    do {
      const page = await this.query(name, sql, parameters, schema, { continuationToken, maxItems: 500 });
      yield* page.items;
      continuationToken = page.continuationToken;
    } while (continuationToken);
  }
}
