import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { CosmosClient } from '@azure/cosmos';
import { BlobServiceClient } from '@azure/storage-blob';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { mintDevToken } from '../../local/dev-issuer/dev-issuer';
import { distRoot, freePort, startAzurite, startCosmos, startHost, tempDir } from '../support/local-services';

interface StackReady {
  url: string;
  seconds: number;
  children: number[];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startStack(
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; ready: StackReady; output: string[] }> {
  const output: string[] = [];
  const child = spawn(process.execPath, [path.join(distRoot, 'local', 'stack.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = await new Promise<StackReady>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`stack exited with ${code}:\n${output.join('\n')}`)));
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        if (line.startsWith('{"event":"stack-ready"')) resolve(JSON.parse(line) as StackReady);
      });
    }
  });
  return { child, ready, output };
}

/**
 * The stack on ports that were free when probed. Another test can still bind one of them before the stack
 * does (the ports are bound seconds later, one service after another); that start fails with EADDRINUSE and
 * is tried again on new ports, at most three times.
 */
async function startStackOnFreePorts(
  dataDir: string,
): Promise<{ ports: Record<string, string>; started: Awaited<ReturnType<typeof startStack>> }> {
  for (let attempt = 1; ; attempt += 1) {
    const ports = {
      FUNCTIONS_HTTP_PORT: String(await freePort()),
      AZURITE_BLOB_PORT: String(await freePort()),
      AZURITE_QUEUE_PORT: String(await freePort()),
      AZURITE_TABLE_PORT: String(await freePort()),
      COSMOS_EMULATOR_PORT: String(await freePort()),
      WEB_PUBSUB_PORT: String(await freePort()),
      KEY_VAULT_PORT: String(await freePort()),
      MANAGED_IDENTITY_PORT: String(await freePort()),
      DEV_ISSUER_PORT: String(await freePort()),
      LOCAL_DATA_DIR: dataDir,
      DURABLE_RPC_PORT: '0',
      LOG_LEVEL: 'warn',
    };
    try {
      return { ports, started: await startStack(ports) };
    } catch (error: unknown) {
      if (attempt >= 3 || !String(error).includes('EADDRINUSE')) throw error;
    }
  }
}

async function stopStack(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
}

function cosmosClient(endpoint: string): CosmosClient {
  return new CosmosClient({
    endpoint,
    key: 'local-emulator',
    connectionPolicy: { enableEndpointDiscovery: false },
  });
}

describe('npm start stack', () => {
  it('serves health, reaches Cosmos and Blob through the SDKs, reads its pepper from the local Key Vault, stops without orphans and keeps data', async () => {
    const dataDir = tempDir('stack');
    const { ports, started: first } = await startStackOnFreePorts(dataDir);
    expect(first.ready.seconds).toBeLessThan(30);
    expect((await fetch(`${first.ready.url}/health`)).status).toBe(200);
    const readiness = await fetch(`${first.ready.url}/ready`);
    expect(readiness.status).toBe(200);
    const checks = (
      (await readiness.json()) as { checks: Record<string, { status: string; detail?: string }> }
    ).checks;
    expect(Object.keys(checks).sort()).toEqual(['cosmos', 'llm', 'realtime', 'storage']);
    expect(checks.llm).toMatchObject({ status: 'ok', detail: 'offline (configured, not called)' });
    expect(checks.realtime).toMatchObject({ status: 'ok', detail: 'web pubsub' });

    const settings = JSON.parse(readFileSync(path.join(dataDir, 'emulators.json'), 'utf8')) as Record<
      string,
      string
    >;
    // The local Web PubSub runs with the stack, and the host is pointed at it.
    expect(settings.WEB_PUBSUB_CONNECTION_STRING).toMatch(
      new RegExp(`^Endpoint=http://127\\.0\\.0\\.1:${ports.WEB_PUBSUB_PORT};`),
    );
    // Secrets come from the local Key Vault, read with DefaultAzureCredential through the local identity endpoint.
    expect(settings.API_KEY_PEPPER_SECRET_URI).toBe(
      `http://127.0.0.1:${ports.KEY_VAULT_PORT}/secrets/api-key-pepper`,
    );
    expect(settings.CONNECTION_SECRETS_KEY_SECRET_URI).toBe(
      `http://127.0.0.1:${ports.KEY_VAULT_PORT}/secrets/connection-secrets-key`,
    );
    expect(settings.IDENTITY_ENDPOINT).toBe(`http://127.0.0.1:${ports.MANAGED_IDENTITY_PORT}/msi/token`);
    expect(settings.API_KEY_PEPPER).toBeUndefined();
    const token = await mintDevToken({
      issuer: String(settings.AUTH_DEV_ISSUER_URL),
      dataDir: path.join(dataDir, 'dev-issuer'),
      sub: 'alice',
      tenantId: 'acme',
      roles: [],
      tenantIds: [],
      ttlSeconds: 600,
    });
    const created = await fetch(`${first.ready.url}/api/v1/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ci' }),
    });
    expect(created.status).toBe(201);
    const apiKey = ((await created.json()) as { key: string }).key;
    // OpenWebUI connection secrets are sealed with the key the app read from the local Key Vault.
    const tenantAdminToken = await mintDevToken({
      issuer: String(settings.AUTH_DEV_ISSUER_URL),
      dataDir: path.join(dataDir, 'dev-issuer'),
      sub: 'ada',
      tenantId: 'acme',
      roles: ['tenant_admin'],
      tenantIds: [],
      ttlSeconds: 600,
    });
    const userJwtSecret = 'stack-test-forward-user-info-jwt-secret-000';
    const connection = await fetch(`${first.ready.url}/api/v1/admin/tenants/acme/openwebui`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenantAdminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'chat', userJwtSecret }),
    });
    expect(connection.status).toBe(201);
    const connectionKey = ((await connection.json()) as { apiKey: string }).apiKey;

    const cosmos = cosmosClient(String(settings.COSMOS_ENDPOINT));
    const { resources: keyRecords } = await cosmos
      .database('user-story-agent')
      .container('apiKeys')
      .items.query<{ hash: string }>("SELECT c.hash FROM c WHERE c.type = 'apiKey'")
      .fetchAll();
    // The user's key and the connection's, both hashed with the vault's pepper.
    expect(keyRecords.map((record) => record.hash.split(':')[0])).toEqual(['hmac-sha256', 'hmac-sha256']);
    const { database } = await cosmos.databases.createIfNotExists({ id: 'stack-test' });
    const { container } = await database.containers.createIfNotExists({
      id: 'items',
      partitionKey: { paths: ['/tenantId'] },
    });
    await container.items.upsert({ id: 'kept', tenantId: 't1', note: 'written before the stop' });
    const blobs = BlobServiceClient.fromConnectionString(
      String(settings.AzureWebJobsStorage),
    ).getContainerClient('kept');
    await blobs.createIfNotExists();
    await blobs.getBlockBlobClient('note.txt').upload('blob before the stop', 20);

    const pids = [first.child.pid ?? 0, ...first.ready.children];
    await stopStack(first.child);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pids.filter(isAlive)).toEqual([]);

    const second = await startStack(ports);
    try {
      const { resource } = await cosmosClient(String(settings.COSMOS_ENDPOINT))
        .database('stack-test')
        .container('items')
        .item('kept', 't1')
        .read<{ note: string }>();
      expect(resource?.note).toBe('written before the stop');
      const blob = await blobs.getBlockBlobClient('note.txt').downloadToBuffer();
      expect(blob.toString('utf8')).toBe('blob before the stop');
      // The key was hashed with the vault's pepper, which the local Key Vault kept across the restart.
      const listed = await fetch(`${second.ready.url}/api/v1/jobs`, { headers: { 'x-api-key': apiKey } });
      expect(listed.status).toBe(200);
      // The sealing key too: the connection's sealed secret still opens, so its chat users are recognised.
      const userJwt = await new SignJWT({ sub: 'u-1', iss: 'open-webui' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt()
        .setExpirationTime('300s')
        .sign(new TextEncoder().encode(userJwtSecret));
      const asChatUser = await fetch(`${second.ready.url}/api/v1/jobs`, {
        headers: { authorization: `Bearer ${connectionKey}`, 'x-openwebui-user-jwt': userJwt },
      });
      expect(asChatUser.status).toBe(200);
    } finally {
      await stopStack(second.child);
    }
  }, 180_000);

  it('reports 503 on /ready while Cosmos is down and 200 once it is back', async () => {
    const azurite = await startAzurite();
    const cosmosPort = await freePort();
    let cosmos = await startCosmos(cosmosPort);
    const host = await startHost({
      env: {
        AzureWebJobsStorage: azurite.connectionString,
        COSMOS_ENDPOINT: cosmos.endpoint,
        COSMOS_KEY: 'local-emulator',
        READY_CHECK_TIMEOUT_MS: '1000',
      },
    });
    try {
      expect((await fetch(`${host.url}/ready`)).status).toBe(200);
      cosmos.process.child.kill('SIGKILL');
      await new Promise((resolve) => cosmos.process.child.once('exit', resolve));
      const down = await fetch(`${host.url}/ready`);
      expect(down.status).toBe(503);
      const report = (await down.json()) as { status: string; checks: Record<string, { status: string }> };
      expect(report.status).toBe('unavailable');
      expect(report.checks.cosmos?.status).toBe('error');
      expect(report.checks.storage?.status).toBe('ok');

      cosmos = await startCosmos(cosmosPort);
      expect((await fetch(`${host.url}/ready`)).status).toBe(200);
    } finally {
      await host.process.stop();
      await cosmos.process.stop();
      await azurite.stop();
    }
  });
});
