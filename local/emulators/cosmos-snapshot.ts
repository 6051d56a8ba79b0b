import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CosmosClient } from '@azure/cosmos';
import { z } from 'zod';

/**
 * The Cosmos emulator keeps everything in memory, so the local stack saves its contents to a JSON file and
 * loads them back at start. Both directions go through `@azure/cosmos`, never the emulator's internals.
 */
const snapshotSchema = z.object({
  version: z.literal(1),
  savedAt: z.string(),
  databases: z.array(
    z.object({
      id: z.string(),
      containers: z.array(
        z.object({
          id: z.string(),
          partitionKeyPaths: z.array(z.string()).min(1),
          items: z.array(z.record(z.string(), z.unknown())),
        }),
      ),
    }),
  ),
});

export type CosmosSnapshot = z.infer<typeof snapshotSchema>;

const systemProperties = new Set(['_rid', '_self', '_etag', '_attachments', '_ts']);

function withoutSystemProperties(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([key]) => !systemProperties.has(key)));
}

export async function takeSnapshot(client: CosmosClient): Promise<CosmosSnapshot> {
  const { resources: databases } = await client.databases.readAll().fetchAll();
  const snapshot: CosmosSnapshot = { version: 1, savedAt: new Date().toISOString(), databases: [] };
  for (const database of databases) {
    const { resources: containers } = await client.database(database.id).containers.readAll().fetchAll();
    const savedContainers: CosmosSnapshot['databases'][number]['containers'] = [];
    for (const container of containers) {
      const { resources: items } = await client
        .database(database.id)
        .container(container.id)
        .items.readAll<Record<string, unknown>>()
        .fetchAll();
      savedContainers.push({
        id: container.id,
        partitionKeyPaths: container.partitionKey?.paths ?? ['/id'],
        items: items.map(withoutSystemProperties),
      });
    }
    snapshot.databases.push({ id: database.id, containers: savedContainers });
  }
  return snapshot;
}

export async function restoreSnapshot(client: CosmosClient, snapshot: CosmosSnapshot): Promise<number> {
  let restored = 0;
  for (const database of snapshot.databases) {
    const { database: db } = await client.databases.createIfNotExists({ id: database.id });
    for (const container of database.containers) {
      const { container: target } = await db.containers.createIfNotExists({
        id: container.id,
        partitionKey: { paths: container.partitionKeyPaths },
      });
      for (const item of container.items) {
        await target.items.upsert(item);
        restored++;
      }
    }
  }
  return restored;
}

export function readSnapshotFile(file: string): CosmosSnapshot | undefined {
  if (!existsSync(file)) return undefined;
  return snapshotSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** Writes atomically (temp file + rename) so a crash mid-write never leaves a torn snapshot. */
export function writeSnapshotFile(file: string, snapshot: CosmosSnapshot): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(snapshot));
  renameSync(temporary, file);
}
