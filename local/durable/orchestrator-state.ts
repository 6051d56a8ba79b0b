/**
 * What the durable-functions orchestrator handler returns (`OrchestratorState`, schema V2+) and, when the
 * orchestrator throws, the state it appends to the error message after `$OutOfProcData$:`.
 */
import { z } from 'zod';

/** `ActionType` numbers of durable-functions (`lib/src/actions/ActionType`). */
export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

/** `RetryOptions` of durable-functions as they arrive in a `CallActivityWithRetry` action. */
export const retryOptionsSchema = z.object({
  firstRetryIntervalInMilliseconds: z.number().positive(),
  maxNumberOfAttempts: z.number().int(),
  backoffCoefficient: z.number().positive().optional(),
  maxRetryIntervalInMilliseconds: z.number().positive().optional(),
  retryTimeoutInMilliseconds: z.number().positive().optional(),
});

/** Retry options of an activity or sub-orchestration. */
export type RetryOptions = z.infer<typeof retryOptionsSchema>;

/** One action of the orchestrator's state (atomic, or compound with `compoundActions`). */
export interface Action {
  actionType: number;
  functionName?: string | undefined;
  input?: unknown;
  retryOptions?: RetryOptions | undefined;
  instanceId?: string | undefined;
  fireAt?: string | undefined;
  isCanceled?: boolean | undefined;
  externalEventName?: string | undefined;
  compoundActions?: Action[] | undefined;
}

const actionSchema: z.ZodType<Action> = z.lazy(() =>
  z.object({
    actionType: z.number().int(),
    functionName: z.string().optional(),
    input: z.unknown().optional(),
    retryOptions: retryOptionsSchema.optional(),
    instanceId: z
      .string()
      .nullish()
      .transform((v) => v ?? undefined),
    fireAt: z.string().optional(),
    isCanceled: z.boolean().optional(),
    externalEventName: z.string().optional(),
    compoundActions: z.array(actionSchema).optional(),
  }),
);

/** The orchestrator handler's return value, validated. */
export const orchestratorStateSchema = z.object({
  isDone: z.boolean(),
  actions: z.array(z.array(actionSchema)),
  output: z.unknown().optional(),
  customStatus: z.unknown().optional(),
  error: z.string().optional(),
});

/** The orchestrator handler's return value. */
export type OrchestratorState = z.infer<typeof orchestratorStateSchema>;

/**
 * The atomic actions in scheduling order. `actions` is cumulative and deterministic, so position N always
 * names the same action across replays; compound actions (`Task.all`/`Task.any`) are walked depth-first,
 * which is the order in which the library hands out task ids.
 */
export function flattenActions(state: OrchestratorState): Action[] {
  const flat: Action[] = [];
  const walk = (actions: Action[]): void => {
    for (const action of actions) {
      if (action.compoundActions !== undefined) walk(action.compoundActions);
      else flat.push(action);
    }
  };
  for (const group of state.actions) walk(group);
  return flat;
}

/**
 * The orchestrator handler reports a failure by throwing `<message>\n\n$OutOfProcData$:<state JSON>`;
 * this splits it back into the user's error message and the state it had reached. durable-functions 3.x puts
 * `false` before the marker (it passes a flag where the error belongs), so the state's `error` is preferred.
 */
export function parseOrchestratorFailure(errorMessage: string): {
  message: string;
  state?: OrchestratorState;
} {
  const marker = '$OutOfProcData$:';
  const at = errorMessage.indexOf(marker);
  if (at < 0) return { message: errorMessage };
  const message = errorMessage.slice(0, at).replace(/\n\n$/, '');
  const parsed = orchestratorStateSchema.safeParse(safeJson(errorMessage.slice(at + marker.length)));
  return parsed.success ? { message: parsed.data.error ?? message, state: parsed.data } : { message };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Durable Task's retry delay before attempt `attempt + 1` (`attempt` counts from 1): first interval times
 * coefficient^(attempt-1), capped at the maximum interval.
 */
export function retryDelayMs(options: RetryOptions, attempt: number): number {
  const delay = options.firstRetryIntervalInMilliseconds * (options.backoffCoefficient ?? 1) ** (attempt - 1);
  return options.maxRetryIntervalInMilliseconds !== undefined
    ? Math.min(delay, options.maxRetryIntervalInMilliseconds)
    : delay;
}
