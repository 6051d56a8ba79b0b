/**
 * The seam between the local Functions host and the trigger/binding extensions it loads (the local durable
 * runtime is one). It mirrors what the real host gives its extensions: the list of function registrations, a
 * way to invoke one through the worker's invocation model, and hooks for input bindings it must fill in.
 */

/** The subset of the worker protocol's RpcTypedData the host passes around. */
export interface TypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  int?: number | null;
  double?: number | null;
  http?: unknown;
}

export interface BindingInfo {
  type: string;
  direction: 'in' | 'out' | 'inout';
  [property: string]: unknown;
}

/** A function the app registered through `@azure/functions` (`app.http`, `app.generic`, `df.app.*`, ...). */
export interface RegisteredFunction {
  name: string;
  bindings: Record<string, BindingInfo>;
  /** Name and binding of the trigger. */
  triggerName: string;
  trigger: BindingInfo;
}

export interface InvokeRequest {
  /** Trigger payload, as the real host would send it in the invocation request. */
  triggerData: TypedData;
  triggerMetadata?: Record<string, TypedData>;
  /** Extra input bindings by binding name; the host fills `durableClient` and similar through providers. */
  inputData?: Record<string, TypedData>;
}

export interface InvokeResult {
  /** The function's return value, decoded from the RPC response the library produced. */
  returnValue: unknown;
  /** Extra outputs by binding name, decoded. */
  outputs: Record<string, unknown>;
}

export interface FunctionInvoker {
  list(): RegisteredFunction[];
  get(name: string): RegisteredFunction | undefined;
  /** Runs one invocation through the library's invocation model, with pre/post invocation hooks. */
  invoke(functionName: string, request: InvokeRequest): Promise<InvokeResult>;
}

/** Something the host starts after the app is loaded: a trigger listener, a runtime, a poller. */
export interface HostExtension {
  readonly name: string;
  /** Binding types this extension fills for input bindings (e.g. `durableClient`). */
  inputBindingTypes?: string[];
  /** Value of an input binding of one of `inputBindingTypes` for the given function. */
  inputBindingData?(fn: RegisteredFunction, bindingName: string, binding: BindingInfo): TypedData;
  /** Trigger types this extension serves; the host warns about registered triggers nobody serves. */
  triggerTypes: string[];
  start(invoker: FunctionInvoker): Promise<void>;
  stop(): Promise<void>;
}
