import { createHash } from 'node:crypto';
import {
  context,
  createContextKey,
  metrics,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Counter,
  type Span,
} from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import type { AppConfig } from '../config';
import type { ErrorCode } from '../errors';

/**
 * Telemetry for Application Insights through OpenTelemetry (`applicationinsights` v3, Azure Monitor
 * distro). Off unless `APPLICATIONINSIGHTS_CONNECTION_STRING` is set: then the OpenTelemetry API stays a
 * no-op and the hooks below cost next to nothing. Every attribute is an id, a code, a model name or a
 * number: no story text, prompt, output, credential or error message is ever put on a span or metric.
 *
 * Spans: one per HTTP request, per activity (orchestration step) and per LLM call (see
 * `invocation-tracing.ts` and `traced-llm.ts`). Correlation: a job's activities and LLM calls share one
 * trace whose id is derived from the job id, so every step of a job, retries and runs on other instances
 * included, is one operation in Application Insights without passing context through the orchestrator; the
 * request that created the job carries `job.id` and a `job.created` span in the job's trace links to it.
 */
const tracerName = 'user-story-agent';

/** Who and what the current unit of work is for; read by the LLM decorator to label its spans and metrics. */
export interface TelemetryScope {
  tenantId?: string;
  userId?: string;
  jobId?: string;
  iterationId?: string;
  /** The workflow step an activity runs after the iterations (`consolidation`, `review`, ...). */
  step?: string;
}

const scopeKey = createContextKey('user-story-agent.telemetry-scope');

/** Error codes that mean a plan quota or budget refused the work. */
const quotaRefusalCodes: ReadonlySet<ErrorCode> = new Set([
  'quota_exceeded',
  'concurrency_limit',
  'budget_exceeded',
]);

let started = false;

/**
 * Starts the Azure Monitor exporter when a connection string is configured; returns whether telemetry is on.
 * The distro is loaded only then: it takes a noticeable time to load. Call once, before invocations (the app
 * registers it as an `appStart` hook).
 */
export async function startTelemetry(config: AppConfig): Promise<boolean> {
  const connectionString = config.APPLICATIONINSIGHTS_CONNECTION_STRING;
  if (started || connectionString === undefined) return started;
  // The SDK's own usage reports (statsbeat) go to Microsoft's endpoints, whatever the connection string
  // says; turned off so telemetry goes only where the operator pointed it.
  process.env.APPLICATION_INSIGHTS_NO_STATSBEAT ??= 'true';
  process.env.APPLICATIONINSIGHTS_SDKSTATS_DISABLED ??= 'true';
  const { useAzureMonitor } = await import('applicationinsights');
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString },
    samplingRatio: config.APPLICATIONINSIGHTS_SAMPLING_RATIO,
    // Ratio sampling on the trace id (not a rate limit), so a job's spans are kept or dropped together.
    tracesPerSecond: 0,
    enableLiveMetrics: false,
    // Exception messages can carry anything; failures are reported by error code on their spans instead.
    enableAutoCollectExceptions: false,
    instrumentationOptions: {
      // Spans are made explicitly (requests, activities, LLM calls). Automatic HTTP and Azure SDK spans
      // would also record the local host's and the durable runtime's own polling traffic.
      http: { enabled: false },
      azureSdk: { enabled: false },
    },
  });
  started = true;
  return true;
}

/** Sends what is buffered and stops the exporter (app shutdown). */
export async function stopTelemetry(): Promise<void> {
  if (!started) return;
  const { shutdownAzureMonitor } = await import('applicationinsights');
  await shutdownAzureMonitor();
  started = false;
}

export function tracer() {
  return trace.getTracer(tracerName);
}

interface Instruments {
  jobsStarted: Counter;
  jobsCompleted: Counter;
  jobsFailed: Counter;
  jobsCancelled: Counter;
  llmCalls: Counter;
  llmTokens: Counter;
  llmCost: Counter;
  quotaRefusals: Counter;
}

let instruments: Instruments | undefined;

/** Created on first use, after `startTelemetry`: metric instruments made before a provider exists stay no-ops. */
export function counters(): Instruments {
  if (instruments) return instruments;
  const meter = metrics.getMeter(tracerName);
  const made: Instruments = {
    jobsStarted: meter.createCounter('jobs.started', { description: 'Jobs that started running' }),
    jobsCompleted: meter.createCounter('jobs.completed', { description: 'Jobs that completed' }),
    jobsFailed: meter.createCounter('jobs.failed', { description: 'Jobs that failed, by error code' }),
    jobsCancelled: meter.createCounter('jobs.cancelled', { description: 'Jobs that were cancelled' }),
    llmCalls: meter.createCounter('llm.calls', { description: 'LLM calls, by tenant, model and outcome' }),
    llmTokens: meter.createCounter('llm.tokens', { description: 'LLM tokens, by tenant, model and type' }),
    llmCost: meter.createCounter('llm.cost', { description: 'LLM cost, by tenant and model', unit: 'uUSD' }),
    quotaRefusals: meter.createCounter('quota.refusals', {
      description: 'Work refused by a plan quota, by code',
    }),
  };
  if (started) instruments = made;
  return made;
}

/** The scope of the current invocation, if a traced invocation is running. */
export function currentScope(): TelemetryScope | undefined {
  return context.active().getValue(scopeKey) as TelemetryScope | undefined;
}

/** Span attributes for a scope's ids. */
export function scopeAttributes(scope: TelemetryScope | undefined): Attributes {
  return {
    ...(scope?.tenantId ? { 'tenant.id': scope.tenantId } : {}),
    ...(scope?.userId ? { 'user.id': scope.userId } : {}),
    ...(scope?.jobId ? { 'job.id': scope.jobId } : {}),
    ...(scope?.iterationId ? { 'iteration.id': scope.iterationId } : {}),
    ...(scope?.step ? { 'workflow.step': scope.step } : {}),
  };
}

/** Runs `work` with `span` active and `scope` readable by nested code; ends the span, recording a failure's code. */
export async function runInSpan<T>(
  span: Span,
  parent: Context,
  scope: TelemetryScope,
  work: () => T | Promise<T>,
  errorCodeOf: (error: unknown) => string,
): Promise<T> {
  try {
    return await context.with(trace.setSpan(parent.setValue(scopeKey, scope), span), work);
  } catch (error: unknown) {
    markFailed(span, errorCodeOf(error));
    throw error;
  } finally {
    span.end();
  }
}

export function markFailed(span: Span, code: string): void {
  span.setAttribute('error.code', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}

/**
 * The context of a job's trace: trace and parent span ids derived from the job id, so every step of the job,
 * on any instance and in any retry, lands in the same trace without carrying context through the orchestrator.
 */
export function jobTraceContext(jobId: string): Context {
  const digest = createHash('sha256').update(`job:${jobId}`).digest('hex');
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: digest.slice(0, 32),
    spanId: digest.slice(32, 48),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
}

/** HTTP hook: the authenticated caller of the current request. */
export function noteCaller(caller: { tenantId: string; userId: string }): void {
  const scope = currentScope();
  if (scope) Object.assign(scope, { tenantId: caller.tenantId, userId: caller.userId });
  trace.getActiveSpan()?.setAttributes({ 'tenant.id': caller.tenantId, 'user.id': caller.userId });
}

/** HTTP hook: ids in the request's path (`jobId`) label its span. */
export function noteRequestIds(params: { jobId?: unknown }): void {
  if (typeof params.jobId !== 'string') return;
  trace.getActiveSpan()?.setAttribute('job.id', params.jobId);
  const scope = currentScope();
  if (scope) scope.jobId = params.jobId;
}

/** HTTP hook: the request failed with `code` (the problem+json code); counts quota refusals. */
export function noteFailure(code: ErrorCode): void {
  trace.getActiveSpan()?.setAttribute('error.code', code);
  if (quotaRefusalCodes.has(code)) countQuotaRefusal(code, currentScope()?.tenantId);
}

export function countQuotaRefusal(code: string, tenantId: string | undefined): void {
  if (!quotaRefusalCodes.has(code as ErrorCode)) return;
  counters().quotaRefusals.add(1, { 'error.code': code, ...(tenantId ? { 'tenant.id': tenantId } : {}) });
}

/**
 * HTTP hook: the current request created (or returned) job `jobId`. Labels the request, and puts a short
 * `job.created` span into the job's trace with a link back to the request, so each side finds the other.
 */
export function noteJob(jobId: string): void {
  const scope = currentScope();
  if (scope) scope.jobId = jobId;
  const request = trace.getActiveSpan();
  request?.setAttribute('job.id', jobId);
  tracer()
    .startSpan(
      'job.created',
      {
        kind: SpanKind.INTERNAL,
        attributes: { ...scopeAttributes(scope), 'job.id': jobId },
        ...(request ? { links: [{ context: request.spanContext() }] } : {}),
      },
      jobTraceContext(jobId),
    )
    .end();
}

/**
 * An Application Insights custom event (`customEvents`): a log record named by `microsoft.custom_event.name`,
 * which the Azure Monitor exporter sends as an event with the attributes as its properties. A no-op while
 * telemetry is off. Like every attribute here: ids, codes and numbers only.
 */
export function trackEvent(name: string, attributes: Attributes): void {
  logs.getLogger(tracerName).emit({ attributes: { 'microsoft.custom_event.name': name, ...attributes } });
}
