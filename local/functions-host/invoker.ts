import { randomUUID } from 'node:crypto';
import type { AppRegistry, CapturedFunction, CoreInvocationContext, LogCategory, LogLevel } from './core-api';
import type {
  FunctionInvoker,
  HostExtension,
  InvokeRequest,
  InvokeResult,
  RegisteredFunction,
  TypedData,
} from './extension';

export type InvocationLogger = (
  level: LogLevel,
  category: LogCategory,
  message: string,
  fields: { functionName: string; invocationId: string },
) => void;

/** Decodes worker-protocol typed data the way the library does for outputs the host reads back. */
export function decodeTypedData(data: unknown): unknown {
  if (data === null || data === undefined || typeof data !== 'object') return data;
  const typed = data as TypedData;
  if (typeof typed.json === 'string') return JSON.parse(typed.json) as unknown;
  if (typeof typed.string === 'string') {
    try {
      return JSON.parse(typed.string) as unknown;
    } catch {
      return typed.string;
    }
  }
  if (typed.bytes) return Buffer.from(typed.bytes);
  if (typeof typed.int === 'number') return typed.int;
  if (typeof typed.double === 'number') return typed.double;
  if (typed.http) return typed.http;
  return undefined;
}

/**
 * Runs invocations through the programming model the app registered, in the order the Node worker uses:
 * getArguments -> preInvocation hooks -> invokeFunction -> postInvocation hooks -> getResponse.
 */
export class Invoker implements FunctionInvoker {
  private readonly appHookData: Record<string, unknown> = {};

  constructor(
    private readonly registry: AppRegistry,
    private readonly extensions: HostExtension[],
    private readonly logger: InvocationLogger,
  ) {}

  list(): RegisteredFunction[] {
    return [...this.registry.functions.values()].map(describe);
  }

  get(name: string): RegisteredFunction | undefined {
    const fn = this.registry.functions.get(name);
    return fn && describe(fn);
  }

  /** App-wide hook data, shared with appStart/appTerminate hooks as the worker does. */
  get sharedHookData(): Record<string, unknown> {
    return this.appHookData;
  }

  async invoke(
    functionName: string,
    request: InvokeRequest,
    invocationId: string = randomUUID(),
  ): Promise<InvokeResult> {
    const fn = this.registry.functions.get(functionName);
    if (!fn) throw new Error(`No function named "${functionName}" is registered.`);
    const model = this.registry.programmingModel;
    if (!model) throw new Error('The app registered no programming model.');

    const coreCtx: CoreInvocationContext = {
      invocationId,
      request: {
        invocationId,
        functionId: functionName,
        inputData: this.inputData(fn, request),
        triggerMetadata: request.triggerMetadata ?? {},
      },
      metadata: { name: fn.name, bindings: fn.bindings },
      log: (level, category, message) =>
        this.logger(level, category, message, { functionName, invocationId }),
    };
    const invocationModel = model.getInvocationModel(coreCtx);
    const { context, inputs } = await invocationModel.getArguments();

    const hookData: Record<string, unknown> = {};
    const pre = {
      hookData,
      appHookData: this.appHookData,
      invocationContext: context,
      functionCallback: fn.callback,
      inputs,
    };
    coreCtx.state = 'preInvocationHooks';
    for (const hook of this.registry.hooks.preInvocation) await hook(pre);

    coreCtx.state = 'invocation';
    let result: unknown;
    let error: unknown;
    try {
      result = await invocationModel.invokeFunction(context, pre.inputs, pre.functionCallback);
    } catch (caught: unknown) {
      error = caught;
    }

    const post = {
      hookData,
      appHookData: this.appHookData,
      invocationContext: context,
      inputs: pre.inputs,
      result,
      error,
    };
    coreCtx.state = 'postInvocationHooks';
    for (const hook of this.registry.hooks.postInvocation) await hook(post);
    if (post.error !== undefined && post.error !== null) {
      throw post.error instanceof Error
        ? post.error
        : new Error('The invocation failed.', { cause: post.error });
    }

    const response = await invocationModel.getResponse(context, post.result);
    const outputs: Record<string, unknown> = {};
    for (const output of response.outputData ?? []) outputs[output.name] = decodeTypedData(output.data);
    return { returnValue: decodeTypedData(response.returnValue), outputs };
  }

  private inputData(fn: CapturedFunction, request: InvokeRequest): { name: string; data: unknown }[] {
    const data: { name: string; data: unknown }[] = [{ name: fn.triggerName, data: request.triggerData }];
    for (const [bindingName, binding] of Object.entries(fn.bindings)) {
      if (bindingName === fn.triggerName || binding.direction === 'out') continue;
      const given = request.inputData?.[bindingName];
      if (given) {
        data.push({ name: bindingName, data: given });
        continue;
      }
      const provider = this.extensions.find((extension) =>
        extension.inputBindingTypes?.includes(binding.type),
      );
      if (!provider?.inputBindingData) {
        throw new Error(
          `No local provider for input binding type "${binding.type}" of function "${fn.name}".`,
        );
      }
      data.push({ name: bindingName, data: provider.inputBindingData(describe(fn), bindingName, binding) });
    }
    return data;
  }
}

function describe(fn: CapturedFunction): RegisteredFunction {
  return { name: fn.name, bindings: fn.bindings, triggerName: fn.triggerName, trigger: fn.trigger };
}
