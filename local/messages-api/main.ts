import { schemaResponder } from './schema-responder';
import { startMessagesApiServer } from './server';

/**
 * `node dist/local/messages-api/main.js [--port N]`: runs the local Messages API server until Ctrl-C.
 * Environment: MESSAGES_API_PORT (default 4010), MESSAGES_API_LATENCY_BASE_MS, MESSAGES_API_LATENCY_PER_TOKEN_MS,
 * MESSAGES_API_MIN_CACHEABLE_TOKENS. Point the app at it with ANTHROPIC_BASE_URL=http://127.0.0.1:<port>.
 */
function numberSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer, got "${raw}".`);
  return value;
}

async function main(): Promise<void> {
  const flag = process.argv.indexOf('--port');
  const portArg = flag === -1 ? undefined : process.argv[flag + 1];
  if (portArg !== undefined) process.env.MESSAGES_API_PORT = portArg;
  const server = await startMessagesApiServer({
    port: numberSetting('MESSAGES_API_PORT', 4010),
    responder: schemaResponder,
    latency: {
      baseMs: numberSetting('MESSAGES_API_LATENCY_BASE_MS', 0),
      perOutputTokenMs: numberSetting('MESSAGES_API_LATENCY_PER_TOKEN_MS', 0),
    },
    minCacheableTokens: numberSetting('MESSAGES_API_MIN_CACHEABLE_TOKENS', 1_024),
  });
  process.stdout.write(`Local Messages API listening on ${server.url} (ANTHROPIC_BASE_URL=${server.url})\n`);
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
