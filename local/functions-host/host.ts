import { globSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../shared/logger';
import { AppRegistry, installCoreModule, type LogLevel } from './core-api';
import type { HostExtension } from './extension';
import { FunctionsHttpServer } from './http-server';
import { Invoker } from './invoker';

const hostJsonSchema = z.looseObject({
  version: z.literal('2.0'),
  extensions: z
    .looseObject({ http: z.looseObject({ routePrefix: z.string().optional() }).optional() })
    .optional(),
});

const packageJsonSchema = z.looseObject({ main: z.string().min(1) });

export interface FunctionsHostOptions {
  /** Folder holding `host.json` and `package.json` (the app's script root). */
  scriptRoot: string;
  /** Glob of entry files relative to `scriptRoot`; defaults to `package.json` `main`, as the worker reads it. */
  main?: string;
  port: number;
  /** Interface to listen on; loopback by default, like `func start`. */
  listenHost?: string;
  logger: Logger;
  /** Built once the app is loaded (some need to know what it registered). */
  extensions: (registry: AppRegistry) => HostExtension[];
}

export interface RunningHost {
  url: string;
  port: number;
  invoker: Invoker;
  routes: { template: string; methods: string[]; functionName: string }[];
  functionNames: string[];
  close(): Promise<void>;
}

const workerLevels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | undefined> = {
  trace: 'trace',
  debug: 'debug',
  information: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
  none: undefined,
};

/** Resolves the app's entry files the way the Node worker does: the `main` glob against the script root. */
export function resolveEntryFiles(scriptRoot: string, mainGlob?: string): string[] {
  const main =
    mainGlob ??
    packageJsonSchema.parse(JSON.parse(readFileSync(path.join(scriptRoot, 'package.json'), 'utf8'))).main;
  const files = globSync(main, { cwd: scriptRoot })
    .map((file) => path.resolve(scriptRoot, file))
    .sort();
  if (files.length === 0)
    throw new Error(`No entry files match "${main}" under ${scriptRoot}. Did you run the build?`);
  return files;
}

/**
 * Loads a Functions app in this process the way the Node worker does and serves it: HTTP triggers on `port`,
 * other triggers through the extensions. One host per process, as one worker per app.
 */
export async function startFunctionsHost(options: FunctionsHostOptions): Promise<RunningHost> {
  const { logger } = options;
  const hostJson = hostJsonSchema.parse(
    JSON.parse(readFileSync(path.join(options.scriptRoot, 'host.json'), 'utf8')),
  );
  const routePrefix = hostJson.extensions?.http?.routePrefix ?? 'api';

  const registry = new AppRegistry((level, category, message) => {
    const pinoLevel = workerLevels[level];
    if (pinoLevel) logger[pinoLevel]({ category }, message);
  });
  installCoreModule(registry);
  for (const file of resolveEntryFiles(options.scriptRoot, options.main)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- entry files are loaded by path, as the worker does
    require(file);
  }

  const model = registry.programmingModel;
  if (!model) throw new Error('The app did not load @azure/functions: no programming model was registered.');
  const capabilities = await model.getCapabilities({});
  const streamingUri = capabilities.HttpUri;

  const extensions = options.extensions(registry);
  const invoker = new Invoker(registry, extensions, (level, category, message, fields) => {
    const pinoLevel = workerLevels[level];
    if (pinoLevel) logger[pinoLevel]({ category, ...fields }, message);
  });

  const served = new Set(['httpTrigger', ...extensions.flatMap((extension) => extension.triggerTypes)]);
  for (const fn of invoker.list()) {
    if (!served.has(fn.trigger.type)) {
      logger.warn(
        { functionName: fn.name, trigger: fn.trigger.type },
        'no local trigger serves this function',
      );
    }
  }

  for (const hook of registry.hooks.appStart) {
    await hook({ hookData: invoker.sharedHookData, functionAppDirectory: options.scriptRoot });
  }

  const httpServer = new FunctionsHttpServer({
    port: options.port,
    host: options.listenHost ?? '127.0.0.1',
    routePrefix,
    streamingUri,
    invoker,
    logger,
  });
  const port = await httpServer.listen();
  const started: HostExtension[] = [];
  try {
    for (const extension of extensions) {
      await extension.start(invoker);
      started.push(extension);
    }
  } catch (error: unknown) {
    await Promise.allSettled(started.map((extension) => extension.stop()));
    await httpServer.close();
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://localhost:${port}`,
    port,
    invoker,
    routes: httpServer.describeRoutes(),
    functionNames: invoker.list().map((fn) => fn.name),
    close: () => {
      closing ??= (async () => {
        await httpServer.close();
        await Promise.allSettled(started.map((extension) => extension.stop()));
        for (const hook of registry.hooks.appTerminate) {
          await hook({ hookData: invoker.sharedHookData });
        }
      })();
      return closing;
    },
  };
}
