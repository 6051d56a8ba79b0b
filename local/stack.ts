#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { requireNode22 } from './require-node';
import { z } from 'zod';
import { DEFAULT_DEV_ISSUER_PORT, startDevIssuer, type DevIssuer } from './dev-issuer/dev-issuer';
import { applyLocalSettings } from './local-settings';
import { startLocalKeyVault, type LocalKeyVault } from './key-vault/server';
import { startLocalManagedIdentity, type LocalManagedIdentity } from './managed-identity/server';
import { startLocalWebPubSub, type LocalWebPubSub } from './web-pubsub/server';
import { allowBrowserUploads } from './emulators/azurite-cors';
import { assertPortFree, startNodeProcess, waitForPort, type ManagedProcess } from './processes';

/**
 * `npm start`: the emulators and the local Functions host on one machine, on embedded defaults.
 * `--emulators-only` (for users running `func start` themselves) and `--host-only` (against running emulators
 * or real Azure) start one half. Ports and the data folder can be moved with environment variables.
 */
const portsSchema = z.object({
  FUNCTIONS_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(7071),
  AZURITE_BLOB_PORT: z.coerce.number().int().min(1).max(65535).default(10000),
  AZURITE_QUEUE_PORT: z.coerce.number().int().min(1).max(65535).default(10001),
  AZURITE_TABLE_PORT: z.coerce.number().int().min(1).max(65535).default(10002),
  COSMOS_EMULATOR_PORT: z.coerce.number().int().min(1).max(65535).default(8081),
  DEV_ISSUER_PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_DEV_ISSUER_PORT),
  WEB_PUBSUB_PORT: z.coerce.number().int().min(0).max(65535).default(7080),
  MESSAGES_API_PORT: z.coerce.number().int().min(0).max(65535).default(4010),
  KEY_VAULT_PORT: z.coerce.number().int().min(0).max(65535).default(7082),
  MANAGED_IDENTITY_PORT: z.coerce.number().int().min(0).max(65535).default(7083),
  /** Serve the LLM through the local Messages API server and the real Anthropic SDK instead of in-process. */
  LOCAL_MESSAGES_API: z.enum(['true', 'false']).default('false'),
  LOCAL_DATA_DIR: z.string().min(1).default('.local-data'),
});

const accountSchema = z.object({ name: z.string().regex(/^[a-z0-9]{3,24}$/), key: z.string().min(20) });

/** Secret names in the local Key Vault, as `infra/modules/key-vault.bicep` names them in Azure. */
const pepperSecretName = 'api-key-pepper';
const anthropicSecretName = 'anthropic-api-key';
const connectionKeySecretName = 'connection-secrets-key';

const repoRoot = path.resolve(__dirname, '..', '..');
const distRoot = path.resolve(__dirname, '..');

/**
 * The local storage account: a key generated once per data folder, so no storage key lives in the code and
 * each developer's emulator data is bound to its own key.
 */
function localStorageAccount(dataDir: string): z.infer<typeof accountSchema> {
  const file = path.join(dataDir, 'storage-account.json');
  if (existsSync(file)) return accountSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  const account = { name: 'localstack', key: randomBytes(32).toString('base64') };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(account), { mode: 0o600 });
  return account;
}

function storageConnectionString(
  account: z.infer<typeof accountSchema>,
  ports: z.infer<typeof portsSchema>,
): string {
  const base = 'http://127.0.0.1';
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${account.name}`,
    `AccountKey=${account.key}`,
    `BlobEndpoint=${base}:${ports.AZURITE_BLOB_PORT}/${account.name}`,
    `QueueEndpoint=${base}:${ports.AZURITE_QUEUE_PORT}/${account.name}`,
    `TableEndpoint=${base}:${ports.AZURITE_TABLE_PORT}/${account.name}`,
  ].join(';');
}

/**
 * With `--host-only`, the settings of emulators a `--emulators-only` stack started, for whatever the
 * environment and local.settings.json leave unset: so the two halves find each other with no copying.
 */
function runningEmulatorSettings(dataDir: string): Record<string, string> {
  const file = path.join(dataDir, 'emulators.json');
  if (!existsSync(file)) return {};
  const saved = z.record(z.string(), z.string()).parse(JSON.parse(readFileSync(file, 'utf8')));
  return Object.fromEntries(Object.entries(saved).filter(([key]) => process.env[key] === undefined));
}

async function main(): Promise<void> {
  requireNode22();
  const startedAt = performance.now();
  const { values } = parseArgs({
    options: {
      'emulators-only': { type: 'boolean', default: false },
      'host-only': { type: 'boolean', default: false },
    },
  });
  applyLocalSettings(repoRoot);
  const ports = portsSchema.parse(process.env);
  const dataDir = path.resolve(repoRoot, ports.LOCAL_DATA_DIR);
  const startEmulators = !values['host-only'];
  const startHost = !values['emulators-only'];
  const running: ManagedProcess[] = [];
  let devIssuer: DevIssuer | undefined;
  let webPubSub: LocalWebPubSub | undefined;
  let keyVault: LocalKeyVault | undefined;
  let identity: LocalManagedIdentity | undefined;

  let stopping = false;
  const stopAll = async (exitCode: number): Promise<never> => {
    stopping = true;
    // Host first (it may still be writing), then the emulators, which save their data on the way out.
    for (const child of [...running].reverse()) await child.stop();
    await devIssuer?.close();
    await webPubSub?.close();
    await keyVault?.close();
    await identity?.close();
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  const emulatorEnv: Record<string, string> = {};
  try {
    if (startEmulators) {
      const account = localStorageAccount(dataDir);
      for (const port of [
        ports.AZURITE_BLOB_PORT,
        ports.AZURITE_QUEUE_PORT,
        ports.AZURITE_TABLE_PORT,
        ports.COSMOS_EMULATOR_PORT,
      ]) {
        await assertPortFree(port);
      }
      const azurite = startNodeProcess({
        name: 'azurite',
        script: path.join(distRoot, 'local', 'emulators', 'azurite-main.js'),
        args: [
          '--location',
          path.join(dataDir, 'azurite'),
          '--silent',
          '--skipApiVersionCheck',
          '--disableTelemetry',
          '--loose',
          '--blobPort',
          String(ports.AZURITE_BLOB_PORT),
          '--queuePort',
          String(ports.AZURITE_QUEUE_PORT),
          '--tablePort',
          String(ports.AZURITE_TABLE_PORT),
        ],
        env: { ...process.env, AZURITE_ACCOUNTS: `${account.name}:${account.key}` },
      });
      running.push(azurite);
      const cosmos = startNodeProcess({
        name: 'cosmos',
        script: path.join(distRoot, 'local', 'emulators', 'cosmos-main.js'),
        args: [
          '--port',
          String(ports.COSMOS_EMULATOR_PORT),
          '--snapshot',
          path.join(dataDir, 'cosmos', 'snapshot.json'),
        ],
        readyEvent: 'cosmos-ready',
      });
      running.push(cosmos);
      await Promise.all([
        waitForPort(ports.AZURITE_BLOB_PORT),
        waitForPort(ports.AZURITE_QUEUE_PORT),
        waitForPort(ports.AZURITE_TABLE_PORT),
        cosmos.readyLine,
      ]);
      emulatorEnv.AzureWebJobsStorage = storageConnectionString(account, ports);
      await allowBrowserUploads(emulatorEnv.AzureWebJobsStorage, [
        `http://localhost:${ports.FUNCTIONS_HTTP_PORT}`,
        `http://127.0.0.1:${ports.FUNCTIONS_HTTP_PORT}`,
      ]);
      emulatorEnv.COSMOS_ENDPOINT = `http://127.0.0.1:${ports.COSMOS_EMULATOR_PORT}`;
      emulatorEnv.COSMOS_KEY = 'local-emulator';
      // The local identity provider: tokens from `npm run dev:token` are signed by it and trusted by the host.
      devIssuer = await startDevIssuer({
        port: ports.DEV_ISSUER_PORT,
        dataDir: path.join(dataDir, 'dev-issuer'),
      });
      emulatorEnv.AUTH_DEV_ISSUER_URL = devIssuer.url;
      // Progress push: the app publishes through the real SDK to this server, and browsers connect to it.
      if (ports.WEB_PUBSUB_PORT !== 0) await assertPortFree(ports.WEB_PUBSUB_PORT);
      webPubSub = await startLocalWebPubSub({ port: ports.WEB_PUBSUB_PORT });
      emulatorEnv.WEB_PUBSUB_CONNECTION_STRING = webPubSub.connectionString;
      // Secrets: the app reads them from this Key Vault stand-in by secret URI with DefaultAzureCredential,
      // which gets its token from the local managed-identity endpoint, as on Azure Functions.
      for (const port of [ports.KEY_VAULT_PORT, ports.MANAGED_IDENTITY_PORT]) {
        if (port !== 0) await assertPortFree(port);
      }
      const localIdentity = await startLocalManagedIdentity({ port: ports.MANAGED_IDENTITY_PORT });
      identity = localIdentity;
      keyVault = await startLocalKeyVault({
        port: ports.KEY_VAULT_PORT,
        verifyToken: (token, resource) => localIdentity.verify(token, resource),
        dataFile: path.join(dataDir, 'key-vault', 'secrets.json'),
      });
      if (!keyVault.hasSecret(pepperSecretName)) {
        keyVault.setSecret(pepperSecretName, randomBytes(32).toString('base64url'));
      }
      Object.assign(emulatorEnv, identity.env);
      emulatorEnv.API_KEY_PEPPER_SECRET_URI = keyVault.secretUri(pepperSecretName);
      // The key sealing OpenWebUI connection secrets, made once per data folder so sealed secrets keep
      // opening; a CONNECTION_SECRETS_KEY set by hand is used instead.
      if (!process.env.CONNECTION_SECRETS_KEY?.trim()) {
        if (!keyVault.hasSecret(connectionKeySecretName)) {
          keyVault.setSecret(connectionKeySecretName, randomBytes(32).toString('base64'));
        }
        emulatorEnv.CONNECTION_SECRETS_KEY_SECRET_URI = keyVault.secretUri(connectionKeySecretName);
      }
      if (ports.LOCAL_MESSAGES_API === 'true') {
        const messagesApi = startNodeProcess({
          name: 'messages-api',
          script: path.join(distRoot, 'local', 'messages-api', 'main.js'),
          args: ['--port', String(ports.MESSAGES_API_PORT)],
        });
        running.push(messagesApi);
        await waitForPort(ports.MESSAGES_API_PORT);
        emulatorEnv.LLM_PROVIDER = 'anthropic';
        emulatorEnv.ANTHROPIC_BASE_URL = `http://127.0.0.1:${ports.MESSAGES_API_PORT}`;
        keyVault.setSecret(anthropicSecretName, 'local-messages-api');
        emulatorEnv.ANTHROPIC_API_KEY_SECRET_URI = keyVault.secretUri(anthropicSecretName);
      }
      writeFileSync(path.join(dataDir, 'emulators.json'), JSON.stringify(emulatorEnv), { mode: 0o600 });
    } else {
      Object.assign(emulatorEnv, runningEmulatorSettings(dataDir));
    }

    let hostUrl: string | undefined;
    if (startHost) {
      if (ports.FUNCTIONS_HTTP_PORT !== 0) await assertPortFree(ports.FUNCTIONS_HTTP_PORT);
      const host = startNodeProcess({
        name: 'host',
        script: path.join(distRoot, 'local', 'functions-host', 'main.js'),
        args: ['--script-root', repoRoot, '--port', String(ports.FUNCTIONS_HTTP_PORT)],
        env: { ...process.env, ...emulatorEnv },
        readyEvent: 'host-ready',
      });
      running.push(host);
      const ready = await host.readyLine;
      hostUrl = typeof ready.url === 'string' ? ready.url : undefined;
    }

    const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
    const lines = [
      '',
      `user-story-agent local stack ready in ${seconds}s`,
      hostUrl
        ? `  Service:      ${hostUrl}   (health: ${hostUrl}/health, readiness: ${hostUrl}/ready)\n  Progress page: ${hostUrl}/app   API reference: ${hostUrl}/docs`
        : undefined,
      startEmulators
        ? `  Blob/Queue/Table (Azurite): 127.0.0.1:${ports.AZURITE_BLOB_PORT}/${ports.AZURITE_QUEUE_PORT}/${ports.AZURITE_TABLE_PORT}, data in ${path.join(dataDir, 'azurite')}`
        : undefined,
      startEmulators
        ? `  Cosmos DB (emulator):       ${emulatorEnv.COSMOS_ENDPOINT}, snapshot in ${path.join(dataDir, 'cosmos')}`
        : undefined,
      startEmulators && !startHost
        ? `  For func start, set in local.settings.json: AzureWebJobsStorage, COSMOS_ENDPOINT=${emulatorEnv.COSMOS_ENDPOINT}, COSMOS_KEY=local-emulator (the full connection strings are in ${path.join(dataDir, 'emulators.json')}; see README)`
        : undefined,
      emulatorEnv.AUTH_DEV_ISSUER_URL
        ? `  Sign-in (dev issuer ${emulatorEnv.AUTH_DEV_ISSUER_URL}): TOKEN=$(npm run -s dev:token -- --user alice --tenant acme), then -H "Authorization: Bearer $TOKEN"`
        : undefined,
      webPubSub
        ? `  Web PubSub (local):         ${webPubSub.url} (progress page: ${hostUrl ?? ''}/app)`
        : undefined,
      keyVault
        ? `  Key Vault (local):          ${keyVault.url} (secrets in ${path.join(dataDir, 'key-vault')}; identity endpoint ${identity?.env.IDENTITY_ENDPOINT ?? ''})`
        : undefined,
      emulatorEnv.ANTHROPIC_BASE_URL
        ? `  LLM: Anthropic SDK against the local Messages API at ${emulatorEnv.ANTHROPIC_BASE_URL}`
        : undefined,
      '  Stop with Ctrl-C (data is kept; `npm run reset` wipes it).',
      '',
    ].filter((line): line is string => line !== undefined);
    process.stdout.write(`${lines.join('\n')}\n`);
    process.stdout.write(
      `${JSON.stringify({ event: 'stack-ready', url: hostUrl, seconds: Number(seconds), pid: process.pid, children: running.map((child) => child.child.pid) })}\n`,
    );

    for (const child of running) {
      child.child.once('exit', (code, signal) => {
        if (stopping) return;
        process.stderr.write(`${child.name} exited unexpectedly (${signal ?? code}); stopping the stack.\n`);
        void stopAll(1);
      });
    }
  } catch (error: unknown) {
    process.stderr.write(
      `The local stack could not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    await stopAll(1);
  }
}

void main();
