#!/usr/bin/env node
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { CosmosClient } from '@azure/cosmos';
import { createHttpServer } from '@vercel/cosmosdb-server';
import { createLogger } from '../../shared/logger';
import { readSnapshotFile, restoreSnapshot, takeSnapshot, writeSnapshotFile } from './cosmos-snapshot';

/**
 * A Cosmos DB endpoint for local use: `@vercel/cosmosdb-server` over plain HTTP, its contents restored from
 * `--snapshot FILE` at start and saved there once writes pause (for longer as it grows) and at shutdown.
 * Prints `{"event":"cosmos-ready","endpoint":...}` on stdout once it serves.
 */
const restoreAgent = 'local-snapshot-restore';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8081' },
      snapshot: { type: 'string' },
      'debounce-ms': { type: 'string', default: '300' },
    },
  });
  const logger = createLogger('cosmos-emulator', process.env.LOG_LEVEL ?? 'info');
  // The server answers `connection: close` unless told otherwise, so every Cosmos call paid a new TCP
  // connection (over 70 per job). Idle connections are kept far longer than any client leaves one idle in a
  // run, so a client never reuses a socket the server is closing (writes are not retried on ECONNRESET).
  const server = createHttpServer({ keepAlive: true });
  server.keepAliveTimeout = 10 * 60_000;
  // The server keeps its documents per listening address, so the restore runs on the real port; until it
  // ends, other clients get 503 (retried) rather than a 404 that would read as "deleted".
  let restoring = Boolean(values.snapshot);
  const serve = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (restoring && !String(req.headers['user-agent']).includes(restoreAgent)) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ code: 'ServiceUnavailable', message: 'Restoring the snapshot.' }));
      return;
    }
    for (const handle of serve) handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(values.port), '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new CosmosClient({
    endpoint,
    key: 'local-emulator',
    userAgentSuffix: restoreAgent,
    connectionPolicy: { enableEndpointDiscovery: false },
  });

  const snapshotFile = values.snapshot;
  let saving: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let lastSaveMs = 0;
  const save = (): Promise<void> => {
    if (!snapshotFile) return Promise.resolve();
    saving = saving
      .then(async () => {
        const started = performance.now();
        writeSnapshotFile(snapshotFile, await takeSnapshot(client));
        lastSaveMs = performance.now() - started;
      })
      .catch((error: unknown) => logger.error({ err: error }, 'snapshot failed'));
    return saving;
  };

  if (snapshotFile) {
    const snapshot = readSnapshotFile(snapshotFile);
    if (snapshot)
      logger.info(
        { items: await restoreSnapshot(client, snapshot), file: snapshotFile },
        'restored snapshot',
      );
    restoring = false;
    const debounceMs = Number(values['debounce-ms']);
    server.on('request', (req) => {
      const isRead = req.method === 'GET' || req.headers['x-ms-documentdb-isquery'] === 'true';
      if (isRead) return;
      // Wait until the write is answered, then coalesce bursts of writes into one snapshot. A snapshot reads
      // and writes everything and blocks this process meanwhile (~0.3 s at 6.5 MB, after a few hundred jobs):
      // the quiet time it waits for grows with it, so snapshots never take more than a tenth of the time.
      // Without that, a snapshot slowed the next requests enough to leave the quiet time for the next one,
      // and every call waited behind snapshot after snapshot (the job-creation benchmark's in-process
      // figure went from 8 ms to 250 ms once the database held its 460 jobs).
      req.on('end', () => {
        clearTimeout(timer);
        timer = setTimeout(() => void save(), Math.max(debounceMs, 10 * lastSaveMs));
      });
    });
  }

  process.stdout.write(`${JSON.stringify({ event: 'cosmos-ready', endpoint, pid: process.pid })}\n`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    clearTimeout(timer);
    void save().finally(() => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (process.connected) process.on('disconnect', stop);
  // The channel only watches the parent; it must not keep this process alive on its own.
  process.channel?.unref();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
