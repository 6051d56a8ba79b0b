import { z } from 'zod';
import { offlineResponder } from '../../local/messages-api/offline-responder';
import {
  startMessagesApiServer,
  type MessagesApiServer,
  type ReceivedRequest,
} from '../../local/messages-api/server';
import { costMicroUsd } from '../../shared/llm/pricing';
import type { PlanLimits } from '../../shared/plans/plan';
import {
  client,
  finished,
  roomyPlanLimits,
  startService,
  waitForJob,
  type Client,
  type ServiceUnderTest,
} from './service';

/**
 * Concurrent jobs against plan limits, for the budget tests and the budgets benchmark: plans made through the
 * admin routes, the provider's bill from the local Messages API, the quota counters from `/usage`, and the
 * figures in a refusal's message.
 */

/** The service calling the local Messages API through the Anthropic adapter, so every call has a price. */
export interface PricedService {
  messages: MessagesApiServer;
  service: ServiceUnderTest;
  /** A platform admin of the service. */
  admin: Client;
  stop(): Promise<void>;
}

/** Starts the local Messages API (offline engine content, `baseMs` before the first token) and the service. */
export async function startPricedService(options: {
  baseMs: number;
  env?: NodeJS.ProcessEnv;
}): Promise<PricedService> {
  const messages = await startMessagesApiServer({
    responder: offlineResponder,
    latency: { baseMs: options.baseMs, perOutputTokenMs: 0 },
    keepRequests: 100_000,
  });
  const service = await startService({
    LLM_PROVIDER: 'anthropic',
    ANTHROPIC_BASE_URL: messages.url,
    ANTHROPIC_API_KEY: 'test-key-for-the-local-server',
    ANTHROPIC_MAX_RETRIES: '0',
    ...options.env,
  });
  const admin = client(
    service.url,
    await service.token({ sub: 'root', tenantId: 'platform', roles: ['platform_admin'] }),
  );
  return {
    messages,
    service,
    admin,
    stop: async () => {
      await service.stop();
      await messages.close();
    },
  };
}

/** Creates plan `planId` with `limits` (over the roomy ones) and moves `tenantId` onto it. */
export async function tenantOnPlan(
  admin: Client,
  tenantId: string,
  limits: Partial<PlanLimits>,
  planId = `plan-${tenantId}`,
): Promise<void> {
  const created = await admin.post('/api/v1/admin/plans', {
    id: planId,
    name: `Plan ${planId}`,
    limits: { ...roomyPlanLimits, ...limits },
  });
  if (created.status !== 201) throw new Error(`plan ${planId} not created: ${created.status}`);
  const moved = await admin.patch(`/api/v1/admin/tenants/${tenantId}/plan`, { planId });
  if (moved.status !== 200) throw new Error(`tenant ${tenantId} not moved to ${planId}: ${moved.status}`);
}

/**
 * What the provider billed, in micro-dollars and tokens, for the requests it answered since `from`, and the
 * dearest of those calls.
 */
export function billedSince(
  messages: MessagesApiServer,
  from: number,
): { microUsd: number; tokens: number; dearestCallMicroUsd: number; answered: ReceivedRequest[] } {
  const answered = messages.stats.received.slice(from).filter((request) => request.status === 200);
  let microUsd = 0;
  let tokens = 0;
  let dearestCallMicroUsd = 0;
  for (const { usage, params } of answered) {
    if (!usage) continue;
    const counts = {
      inputTokens: usage.input_tokens,
      outputTokens: usage.output_tokens,
      cacheCreationInputTokens: usage.cache_creation_input_tokens,
      cacheReadInputTokens: usage.cache_read_input_tokens,
    };
    const cost = costMicroUsd(params.model, counts, new Date());
    microUsd += cost;
    dearestCallMicroUsd = Math.max(dearestCallMicroUsd, cost);
    tokens +=
      counts.inputTokens +
      counts.outputTokens +
      counts.cacheCreationInputTokens +
      counts.cacheReadInputTokens;
  }
  return { microUsd, tokens, dearestCallMicroUsd, answered };
}

/** The caller's quota counters (settled and held) and recorded usage, from `/usage`. */
export async function quotaCounters(api: Client) {
  const usage = (await api.get('/api/v1/usage')).json;
  const limits = usage.plan.limits as PlanLimits;
  const remaining = usage.remaining as Record<string, number>;
  const today = usage.today as Record<string, number>;
  return {
    settledMicroUsd: remaining.spentBudgetMicroUsd ?? 0,
    heldMicroUsd: remaining.reservedBudgetMicroUsd ?? 0,
    settledTokens: limits.tokensPerDay - (remaining.tokensToday ?? 0) - (remaining.reservedTokens ?? 0),
    heldTokens: remaining.reservedTokens ?? 0,
    recordedMicroUsd: usage.tenantMonth.costMicroUsd as number,
    recordedTokens:
      (today.inputTokens ?? 0) +
      (today.outputTokens ?? 0) +
      (today.cacheCreationInputTokens ?? 0) +
      (today.cacheReadInputTokens ?? 0),
  };
}

/** The figures a refusal states: what the call needed, what was settled, and the limit (micro-dollars or tokens). */
export interface RefusalFigures {
  needed: number;
  settled: number;
  limit: number;
}

const budgetRefusal =
  /is expected to cost \$(\d+\.\d+) and the tenant has spent \$(\d+\.\d+) of its monthly budget of \$(\d+\.\d+)/;
const tokenRefusal = /needs up to (\d+) tokens and (\d+) of the daily limit of (\d+) are used/;
const micro = (usd: string | undefined) => Math.round(Number(usd) * 1_000_000);

/** Reads the figures from a `budget_exceeded` or `quota_exceeded` message; undefined for any other. */
export function refusalFigures(error: { code: string; message: string }): RefusalFigures | undefined {
  if (error.code === 'budget_exceeded') {
    const [, needed, settled, limit] = budgetRefusal.exec(error.message) ?? [];
    return needed ? { needed: micro(needed), settled: micro(settled), limit: micro(limit) } : undefined;
  }
  if (error.code === 'quota_exceeded') {
    const [, needed, settled, limit] = tokenRefusal.exec(error.message) ?? [];
    return needed ? { needed: Number(needed), settled: Number(settled), limit: Number(limit) } : undefined;
  }
  return undefined;
}

/** Submits one job and waits for it to finish. */
export async function runOneJob(api: Client, body: object): Promise<Record<string, any>> {
  return waitForJob(api, String((await api.post('/api/v1/jobs', body)).json.id), finished, 60_000);
}

/**
 * What the next call of a job of `body` needs of the tenant's budget, as its refusal states it: the tenant is
 * moved to a plan (`planId`) whose budget is what it has already spent plus one micro-dollar, and one job is
 * submitted.
 */
export async function budgetNeededByNextCall(
  admin: Client,
  api: Client,
  tenantId: string,
  body: object,
  planId: string,
): Promise<number> {
  const spent = (await quotaCounters(api)).settledMicroUsd;
  await tenantOnPlan(admin, tenantId, { monthlyBudgetUsd: (spent + 1) / 1_000_000 }, planId);
  const refused = await runOneJob(api, body);
  const figures = refused.error && refusalFigures(refused.error);
  if (refused.error?.code !== 'budget_exceeded' || !figures) {
    throw new Error(`expected a budget refusal, got ${JSON.stringify(refused.error ?? refused.status)}`);
  }
  return figures.needed;
}

/** The parts of a finished job these runs look at. */
const finishedJobSchema = z.object({
  id: z.string(),
  status: z.string(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  usage: z.object({ costMicroUsd: z.number() }),
  progress: z.object({ waiting: z.array(z.unknown()).optional() }),
});
export type FinishedJob = z.infer<typeof finishedJobSchema>;

/** The data of an `iteration:waiting` event. */
const waitingEventSchema = z.object({
  jobId: z.string(),
  iteration: z.string(),
  reason: z.enum(['budget', 'tokens']),
  message: z.string(),
});
export type WaitingEvent = z.infer<typeof waitingEventSchema>;

export interface ConcurrentRun {
  jobs: FinishedJob[];
  /** Jobs with at least one `iteration:waiting` event. */
  waited: number;
  /** Every `iteration:waiting` event of the jobs, in job order. */
  waits: WaitingEvent[];
  wallMs: number;
}

/** The `iteration:waiting` events in a job's event stream. */
function waitingEvents(stream: string): WaitingEvent[] {
  return stream
    .split('\n\n')
    .filter((frame) => frame.includes('event: iteration:waiting\n'))
    .map((frame) => {
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice('data: '.length))
        .join('\n');
      return waitingEventSchema.parse(JSON.parse(data));
    });
}

/** Submits `count` identical jobs at once, waits for every one to finish, and counts those that waited. */
export async function runConcurrentJobs(
  api: Client,
  count: number,
  body: { story: string; mode: string; iterations: string[] },
  timeoutMs = 300_000,
): Promise<ConcurrentRun> {
  const started = performance.now();
  const created = await Promise.all(Array.from({ length: count }, () => api.post('/api/v1/jobs', body)));
  const refused = created.find((response) => response.status !== 202);
  if (refused) throw new Error(`job not accepted: ${refused.status} ${JSON.stringify(refused.json)}`);
  const jobs: FinishedJob[] = [];
  for (const response of created) {
    jobs.push(finishedJobSchema.parse(await waitForJob(api, String(response.json.id), finished, timeoutMs)));
  }
  const wallMs = performance.now() - started;
  let waited = 0;
  const waits: WaitingEvent[] = [];
  for (const job of jobs) {
    const events = await api.get(`/api/v1/jobs/${job.id}/stream?follow=false`);
    const found = waitingEvents(typeof events.json === 'string' ? events.json : '');
    if (found.length > 0) waited++;
    waits.push(...found);
  }
  return { jobs, waited, waits, wallMs };
}
