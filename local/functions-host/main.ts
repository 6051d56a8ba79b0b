#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { requireNode22 } from '../require-node';
import { createLogger } from '../../shared/logger';
import { applyLocalSettings } from '../local-settings';
import { createDurableExtension } from '../durable';
import { durableOptionsFromEnv, usesDurable } from '../durable/settings';
import { BlobTriggerExtension } from './blob-trigger';
import { startFunctionsHost } from './host';
import { TimerTriggerExtension } from './timer-trigger';

/**
 * The local Functions host as a process: `node dist/local/functions-host/main.js [--script-root DIR]
 * [--main GLOB] [--port N]`. Prints one JSON line `{"event":"host-ready",...}` on stdout when it serves.
 */
async function main(): Promise<void> {
  requireNode22();
  const { values } = parseArgs({
    options: {
      'script-root': { type: 'string', default: process.cwd() },
      main: { type: 'string' },
      port: { type: 'string', default: process.env.FUNCTIONS_HTTP_PORT ?? '7071' },
    },
  });
  const scriptRoot = values['script-root'];
  applyLocalSettings(scriptRoot);
  const logger = createLogger('functions-host', process.env.LOG_LEVEL ?? 'info');
  const hostId = process.env.AzureFunctionsHostId ?? process.env.WEBSITE_SITE_NAME ?? 'local-functions-host';
  // The platform variables a Flex Consumption worker sees. Telemetry reads them to describe where it runs;
  // without them the Azure Monitor distro probes the Azure VM metadata address, which is not ours to call.
  process.env.WEBSITE_SKU ??= 'FlexConsumption';
  process.env.WEBSITE_SITE_NAME ??= 'user-story-agent-local';

  const host = await startFunctionsHost({
    scriptRoot,
    main: values.main,
    port: Number(values.port),
    logger,
    extensions: (registry) => [
      ...(usesDurable(registry.functions.values())
        ? [createDurableExtension(durableOptionsFromEnv(process.env, logger))]
        : []),
      new TimerTriggerExtension(logger),
      new BlobTriggerExtension({
        logger,
        hostId,
        pollIntervalMs: Number(process.env.LOCAL_BLOB_POLL_MS ?? 1000),
        claimTimeoutMs: 60_000,
        maxAttempts: 5,
      }),
    ],
  });
  process.stdout.write(
    `${JSON.stringify({ event: 'host-ready', url: host.url, pid: process.pid, functions: host.functionNames, routes: host.routes })}\n`,
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping host');
    host.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'host did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Started by the local stack over IPC: leave with it, even if it was killed outright.
  if (process.connected) process.on('disconnect', () => stop('parent exited'));
  // The channel only watches the parent; it must not keep this process alive on its own.
  process.channel?.unref();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
