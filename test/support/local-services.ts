import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TableServiceClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { startNodeProcess, waitForPort, type ManagedProcess } from '../../local/processes';

/** Black-box test helpers: real emulator and host processes on free ports, output kept for failure reports. */
/** The repository root, whether this file runs from source (vitest) or compiled under `dist/` (benchmarks). */
function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'host.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`No repository root above ${from}.`);
  }
}

export const repoRoot = findRepoRoot(__dirname);
export const distRoot = path.join(repoRoot, 'dist');

/** Ports handed out by this process, so two calls never return the same one. */
const handedOut = new Set<number>();

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port that is free now, for a child process to bind later. It is taken below the kernel's
 * ephemeral range (Linux: 32768-60999), which every `listen(0)` and every outgoing connection of the other
 * tests draws from: a port probed there could be taken by one of them before the child binds it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port) || !(await isFree(port))) continue;
    handedOut.add(port);
    return port;
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `usa-${prefix}-`));
}

export interface StartedProcess extends ManagedProcess {
  output: string[];
}

export function startQuiet(options: Parameters<typeof startNodeProcess>[0]): StartedProcess {
  const output: string[] = [];
  const started = startNodeProcess({ ...options, output: (line) => output.push(line) });
  return Object.assign(started, { output });
}

/** An Azurite instance for one test file: its own ports and a random account key, in memory unless a folder is given. */
export interface Azurite {
  connectionString: string;
  process: StartedProcess;
  stop(): Promise<void>;
}

/**
 * An Azurite process on free ports. A free port is only free when it was looked up: a test file starting its
 * own services in parallel may take it first, and then the port answers, but not as this Azurite. So each
 * service is asked for something only this account can read, and on a wrong answer Azurite starts again on
 * other ports.
 */
export async function startAzurite(location?: string): Promise<Azurite> {
  for (let attempt = 1; ; attempt++) {
    const azurite = await startAzuriteOnce(location);
    if (await servesThisAccount(azurite.connectionString)) return azurite;
    await azurite.stop();
    if (attempt === 3) throw new Error('Azurite did not get its own ports after 3 attempts.');
  }
}

async function servesThisAccount(connectionString: string): Promise<boolean> {
  try {
    await BlobServiceClient.fromConnectionString(connectionString).getProperties();
    await TableServiceClient.fromConnectionString(connectionString, { allowInsecureConnection: true })
      .listTables()
      .byPage({ maxPageSize: 1 })
      .next();
    return true;
  } catch {
    return false;
  }
}

async function startAzuriteOnce(location?: string): Promise<Azurite> {
  const [blobPort, queuePort, tablePort] = [await freePort(), await freePort(), await freePort()];
  const account = 'testaccount';
  const key = randomBytes(32).toString('base64');
  const proc = startQuiet({
    name: 'azurite',
    script: path.join(distRoot, 'local', 'emulators', 'azurite-main.js'),
    args: [
      ...(location ? ['--location', location] : ['--inMemoryPersistence']),
      '--silent',
      '--skipApiVersionCheck',
      '--disableTelemetry',
      '--loose',
      '--blobPort',
      String(blobPort),
      '--queuePort',
      String(queuePort),
      '--tablePort',
      String(tablePort),
    ],
    env: { ...process.env, AZURITE_ACCOUNTS: `${account}:${key}` },
  });
  await Promise.all([waitForPort(blobPort), waitForPort(queuePort), waitForPort(tablePort)]);
  const connectionString = [
    'DefaultEndpointsProtocol=http',
    `AccountName=${account}`,
    `AccountKey=${key}`,
    `BlobEndpoint=http://127.0.0.1:${blobPort}/${account}`,
    `QueueEndpoint=http://127.0.0.1:${queuePort}/${account}`,
    `TableEndpoint=http://127.0.0.1:${tablePort}/${account}`,
  ].join(';');
  return { connectionString, process: proc, stop: () => proc.stop() };
}

/** A Cosmos emulator process (optionally snapshotting to a file), on the given or a free port. */
export async function startCosmos(
  port?: number,
  snapshot?: string,
): Promise<{ endpoint: string; process: StartedProcess }> {
  const proc = startQuiet({
    name: 'cosmos',
    script: path.join(distRoot, 'local', 'emulators', 'cosmos-main.js'),
    args: ['--port', String(port ?? (await freePort())), ...(snapshot ? ['--snapshot', snapshot] : [])],
    readyEvent: 'cosmos-ready',
  });
  const ready = await proc.readyLine;
  return { endpoint: String(ready.endpoint), process: proc };
}

/** A local Functions host process serving an app from `dist/` (the project's app unless `main` says otherwise). */
export async function startHost(options: {
  env: NodeJS.ProcessEnv;
  main?: string;
  port?: number;
}): Promise<{ url: string; process: StartedProcess }> {
  const proc = startQuiet({
    name: 'host',
    script: path.join(distRoot, 'local', 'functions-host', 'main.js'),
    args: [
      '--script-root',
      repoRoot,
      '--port',
      String(options.port ?? (await freePort())),
      ...(options.main ? ['--main', options.main] : []),
    ],
    env: { ...process.env, LOG_LEVEL: 'warn', DURABLE_RPC_PORT: '0', ...options.env },
    readyEvent: 'host-ready',
  });
  const ready = await proc.readyLine.catch((error: unknown) => {
    throw new Error(`${String(error)}\n${proc.output.join('\n')}`);
  });
  return { url: String(ready.url), process: proc };
}
