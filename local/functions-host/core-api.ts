import Module from 'node:module';
import { z } from 'zod';
import type { BindingInfo, RegisteredFunction } from './extension';

/**
 * The `@azure/functions-core` module the Node worker provides to the app. `@azure/functions` requires it lazily
 * (once, at its first `app.*` call) and, finding it, registers functions, hooks and its programming model here
 * instead of running in "test mode". Shapes follow the worker protocol; only what the library uses is typed.
 */

export type LogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';
export type LogCategory = 'user' | 'system' | 'customMetric';

/** What the library's InvocationModel reads from the worker's invocation context. */
export interface CoreInvocationContext {
  invocationId: string;
  request: {
    invocationId: string;
    functionId: string;
    inputData: { name: string; data: unknown }[];
    triggerMetadata: Record<string, unknown>;
  };
  metadata: { name: string; bindings: Record<string, BindingInfo> };
  state?: 'preInvocationHooks' | 'postInvocationHooks' | 'invocation';
  log(level: LogLevel, category: LogCategory, message: string): void;
}

export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], handler: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<RpcInvocationResponse>;
}

export interface RpcInvocationResponse {
  invocationId: string;
  outputData?: { name: string; data: unknown }[];
  returnValue?: unknown;
}

export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreCtx: CoreInvocationContext): InvocationModel;
  getCapabilities(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

export type FunctionCallback = (...args: unknown[]) => unknown;
export type HookName = 'appStart' | 'appTerminate' | 'preInvocation' | 'postInvocation' | 'log';
export type HookCallback = (context: Record<string, unknown>) => unknown;

const bindingSchema = z.looseObject({ type: z.string(), direction: z.enum(['in', 'out', 'inout']) });
const metadataSchema = z.object({ name: z.string().min(1), bindings: z.record(z.string(), bindingSchema) });

class Disposable {
  constructor(private readonly onDispose: () => void) {}
  dispose(): void {
    this.onDispose();
  }
}

export interface CapturedFunction extends RegisteredFunction {
  callback: FunctionCallback;
}

/** Everything the app registered while it was loaded. */
export class AppRegistry {
  readonly functions = new Map<string, CapturedFunction>();
  readonly hooks: Record<HookName, HookCallback[]> = {
    appStart: [],
    appTerminate: [],
    preInvocation: [],
    postInvocation: [],
    log: [],
  };
  programmingModel: ProgrammingModel | undefined;

  constructor(private readonly log: (level: LogLevel, category: LogCategory, message: string) => void) {}

  /** The module object handed to the app in place of `@azure/functions-core`. */
  coreModule(): Record<string, unknown> {
    return {
      Disposable,
      registerFunction: (metadata: unknown, callback: FunctionCallback) =>
        this.registerFunction(metadata, callback),
      registerHook: (name: HookName, callback: HookCallback) => this.registerHook(name, callback),
      setProgrammingModel: (model: ProgrammingModel) => {
        this.programmingModel = model;
      },
      getProgrammingModel: () => this.programmingModel,
      log: this.log,
    };
  }

  private registerFunction(rawMetadata: unknown, callback: FunctionCallback): Disposable {
    const metadata = metadataSchema.parse(rawMetadata);
    if (this.functions.has(metadata.name)) {
      throw new Error(`A function named "${metadata.name}" is already registered.`);
    }
    const triggerEntry = Object.entries(metadata.bindings).find(([, binding]) =>
      binding.type.toLowerCase().endsWith('trigger'),
    );
    if (!triggerEntry) throw new Error(`Function "${metadata.name}" has no trigger binding.`);
    const [triggerName, trigger] = triggerEntry;
    this.functions.set(metadata.name, {
      name: metadata.name,
      bindings: metadata.bindings,
      triggerName,
      trigger,
      callback,
    });
    return new Disposable(() => this.functions.delete(metadata.name));
  }

  private registerHook(name: HookName, callback: HookCallback): Disposable {
    const list = this.hooks[name];
    if (!Array.isArray(list)) throw new RangeError(`Unknown hook "${String(name)}".`);
    list.push(callback);
    return new Disposable(() => {
      const index = list.indexOf(callback);
      if (index >= 0) list.splice(index, 1);
    });
  }
}

let installedModule: Record<string, unknown> | undefined;

/**
 * Makes `require('@azure/functions-core')` return the registry's module, as the worker does. Must run before
 * the app (and so `@azure/functions`) is first loaded; one registry per process, like one worker per app.
 */
export function installCoreModule(registry: AppRegistry): void {
  if (installedModule) throw new Error('@azure/functions-core is already provided in this process.');
  installedModule = registry.coreModule();
  const provided = installedModule;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- re-bound to each module below via call()
  const originalRequire = Module.prototype.require;
  const patched = function (this: NodeJS.Module, id: string): unknown {
    if (id === '@azure/functions-core') return provided;
    return originalRequire.call(this, id);
  };
  Module.prototype.require = Object.assign(patched, originalRequire);
}
