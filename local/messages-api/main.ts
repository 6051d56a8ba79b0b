import { offlineResponder } from './offline-responder';
import { schemaResponder } from './schema-responder';
import { startMessagesApiServer } from './server';

/**
 * `node dist/local/messages-api/main.js [--port N]`: runs the local Messages API server until Ctrl-C.
 * Environment: MESSAGES_API_PORT (default 4010), MESSAGES_API_RESPONDER (`offline`, the default: the
 * offline engine's content; `schema`: a minimal value of any requested JSON schema),
 * MESSAGES_API_LATENCY_BASE_MS and MESSAGES_API_LATENCY_PER_TOKEN_MS (default 0), and
 * MESSAGES_API_MIN_CACHEABLE_TOKENS (default 1024). Point the app at it with ANTHROPIC_BASE_URL.
 */
function numberSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name} must be a non-negative number, got "${raw}".`);
  return value;
}

function responderSetting() {
  const name = process.env.MESSAGES_API_RESPONDER ?? 'offline';
  if (name === 'offline') return offlineResponder;
  if (name === 'schema') return schemaResponder;
  throw new Error(`MESSAGES_API_RESPONDER must be "offline" or "schema", got "${name}".`);
}

async function main(): Promise<void> {
  const flag = process.argv.indexOf('--port');
  const portArg = flag === -1 ? undefined : process.argv[flag + 1];
  const server = await startMessagesApiServer({
    port: portArg === undefined ? numberSetting('MESSAGES_API_PORT', 4010) : Number(portArg),
    responder: responderSetting(),
    latency: {
      baseMs: numberSetting('MESSAGES_API_LATENCY_BASE_MS', 0),
      perOutputTokenMs: numberSetting('MESSAGES_API_LATENCY_PER_TOKEN_MS', 0),
    },
    minCacheableTokens: numberSetting('MESSAGES_API_MIN_CACHEABLE_TOKENS', 1_024),
  });
  process.stdout.write(
    `Local Messages API listening on ${server.url} (set ANTHROPIC_BASE_URL=${server.url})\n`,
  );
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
