import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Context,
  type Link,
} from '@opentelemetry/api';
import { z } from 'zod';
import { toAppError } from '../errors';
import {
  jobFinishInputSchema,
  jobStartOutputSchema,
  iterationRunOutputSchema,
} from '../jobs/orchestration-contract';
import {
  counters,
  countQuotaRefusal,
  jobTraceContext,
  markFailed,
  runInSpan,
  scopeAttributes,
  tracer,
  type TelemetryScope,
} from './telemetry';

type FunctionHandler = (triggerInput: unknown, invocation: InvocationContext) => unknown;

/** Ids every activity input carries (see `orchestration-contract.ts`); only ids cross into telemetry. */
const activityIdsSchema = z.object({
  jobId: z.string(),
  tenantId: z.string(),
  iterationId: z.string().optional(),
  step: z.object({ kind: z.string() }).optional(),
});

const errorCode = (error: unknown) => toAppError(error).code;

/**
 * Wraps every invocation but orchestrator replays in a span, through the Functions pre-invocation hook, so no
 * function file or activity needs to know about telemetry: HTTP requests become server spans (parented on
 * the caller's or the host's trace context), activities server spans in their job's trace: each invocation
 * is a request in Application Insights, as the Functions host reports it.
 */
export function traceInvocations(): void {
  app.hook.preInvocation((hook) => {
    const invocation = hook.invocationContext;
    const trigger = invocation.options.trigger.type;
    if (trigger === 'orchestrationTrigger' || trigger === 'entityTrigger') return;
    const handler = hook.functionHandler as FunctionHandler;
    hook.functionHandler = (triggerInput: unknown, handlerContext: InvocationContext) => {
      const run = () => handler(triggerInput, handlerContext);
      if (trigger === 'httpTrigger') return traceRequest(triggerInput as HttpRequest, invocation, run);
      if (trigger === 'activityTrigger') return traceActivity(triggerInput, invocation, run);
      return runInSpan(
        tracer().startSpan(invocation.functionName, { kind: SpanKind.SERVER }),
        context.active(),
        {},
        run,
        errorCode,
      );
    };
  });
}

/** The W3C trace context given by the Functions host (Azure) or, failing that, by the caller's header. */
function parentOf(traceParent: string | null | undefined): Context {
  if (!traceParent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent: traceParent });
}

function traceRequest(
  request: HttpRequest,
  invocation: InvocationContext,
  run: () => unknown,
): Promise<unknown> {
  const declared = invocation.options.trigger.route;
  const route = `/${typeof declared === 'string' ? declared : invocation.functionName}`;
  const parent = parentOf(invocation.traceContext?.traceParent ?? request.headers.get('traceparent'));
  const span = tracer().startSpan(
    `${request.method} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': request.method,
        'http.route': route,
        'faas.name': invocation.functionName,
      },
    },
    parent,
  );
  return runInSpan(
    span,
    parent,
    {},
    async () => {
      const response = await run();
      const status = (response as { status?: unknown } | undefined)?.status;
      const code = typeof status === 'number' ? status : 200;
      span.setAttribute('http.response.status_code', code);
      if (code >= 500) markFailed(span, String(code));
      return response;
    },
    errorCode,
  );
}

function traceActivity(input: unknown, invocation: InvocationContext, run: () => unknown): Promise<unknown> {
  const ids = activityIdsSchema.safeParse(input);
  const scope: TelemetryScope = ids.success
    ? {
        jobId: ids.data.jobId,
        tenantId: ids.data.tenantId,
        ...(ids.data.iterationId ? { iterationId: ids.data.iterationId } : {}),
        ...(ids.data.step ? { step: ids.data.step.kind } : {}),
      }
    : {};
  const parent = ids.success ? jobTraceContext(ids.data.jobId) : ROOT_CONTEXT;
  // Where the runtime passes its own trace context (Azure, with Durable distributed tracing), link to it.
  const runtimeSpan = trace.getSpanContext(parentOf(invocation.traceContext?.traceParent));
  const links: Link[] = runtimeSpan ? [{ context: runtimeSpan }] : [];
  const span = tracer().startSpan(
    `activity ${invocation.functionName}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'faas.name': invocation.functionName, ...scopeAttributes(scope) },
      links,
    },
    parent,
  );
  return runInSpan(
    span,
    parent,
    scope,
    async () => {
      const output = await run();
      const failure = recordActivityOutcome(invocation.functionName, input, output, scope.tenantId);
      if (failure) markFailed(span, failure);
      return output;
    },
    errorCode,
  );
}

/**
 * Job metrics from the activities' own inputs and outputs (the orchestration contract), so the job engine
 * needs no telemetry calls: `jobStart` answering proceed starts a job, `jobFinish` ends it with its outcome,
 * and an iteration that failed on a quota counts as a quota refusal. Returns the error code of a failed step.
 */
function recordActivityOutcome(
  name: string,
  input: unknown,
  output: unknown,
  tenantId: string | undefined,
): string | undefined {
  const tenant = tenantId ? { 'tenant.id': tenantId } : {};
  if (name === 'jobStart') {
    if (jobStartOutputSchema.safeParse(output).data?.proceed) counters().jobsStarted.add(1, tenant);
    return undefined;
  }
  if (name === 'jobFinish') {
    const finish = jobFinishInputSchema.safeParse(input).data;
    if (finish?.outcome === 'completed') counters().jobsCompleted.add(1, tenant);
    if (finish?.outcome === 'cancelled') counters().jobsCancelled.add(1, tenant);
    if (finish?.outcome === 'failed') {
      const code = finish.error?.code ?? 'internal';
      counters().jobsFailed.add(1, { ...tenant, 'error.code': code });
    }
    return undefined;
  }
  const iteration = iterationRunOutputSchema.safeParse(output).data;
  if (iteration?.outcome === 'failed') {
    const code = iteration.error?.code ?? 'internal';
    countQuotaRefusal(code, tenantId);
    return code;
  }
  return undefined;
}
