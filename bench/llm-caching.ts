import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { LatencyModel, MessagesApiStats } from '../local/messages-api/server';
import { iterationIds } from '../shared/engine/catalog';
import { iterationModel, passModel } from '../shared/engine/passes';
import { sampleStoriesDir } from '../shared/engine/fixtures/sample-stories';
import { buildIterationRequest } from '../shared/engine/prompts';
import { runWorkflow } from '../shared/engine/runner';
import { parseStory, type Story } from '../shared/engine/story';
import { createAnthropicAdapter, type LlmAttemptEvent } from '../shared/llm/anthropic-adapter';
import { costMicroUsd, microUsdToUsd } from '../shared/llm/pricing';

/**
 * Prompt caching and parallelism benchmark of the whole workflow: all 12 iterations (those that do not apply
 * to the story's product type are skipped without a call), then consolidation, the whole-story judge and the
 * rewrite round it may ask for, through the Anthropic adapter and the real SDK against the local Messages API
 * server (offline engine content, latency model, minimum cacheable prefix 2,048 tokens by default). Per story
 * and scenario a fresh server process, so no cache leaks between scenarios and the server's work does not
 * share the workflow's event loop (the real API is remote), warmed by requests that are not counted.
 *
 * Scenarios (all through `runWorkflow`): `sequential` (one iteration call at a time), `parallel` (the default
 * on an API that has cached nothing: per model, the first call writes the cached prefix and the others start
 * once its response begins), `parallel-warm` (a service that ran another story's job minutes before: one call
 * per model on that story warmed the server, so the instructions are cached and the client knows it; no
 * call waits, each writes only its story), `parallel-cold` (`warmCache: false`: every call launched at once
 * on an API that has cached nothing) and `naive` (parallel, no `cache_control`, so the whole prompt is
 * billed as fresh input on every call). The warm-up of the other scenarios runs on a model the workflow does
 * not call, so its cache entries serve no measured call.
 *
 * Targets: wall time of the parallel workflow at most 2.0x its slowest iteration call; billed input at least
 * 60% below naive. Besides the whole workflow, the time to the first judge verdict (iterations, consolidation
 * and one judge round: what a story the judge approves takes) is printed against the same slowest call.
 *
 * Run: `npm run build && node dist/bench/llm-caching.js [--stories DIR (default examples/stories)] [--base-ms N] [--per-token-ms N]
 * [--min-cacheable N] [--rewrite-rounds N]` (default 1, as for jobs).
 */

interface ScenarioRun {
  wallMs: number;
  /** From the start to the first judge verdict: the workflow without the rewrite round the judge may ask for. */
  firstVerdictMs: number;
  iterationCallMs: number[];
  passCallMs: number[];
  judgeRounds: number;
  inputCostMicroUsd: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  inputTokens: number;
  outputTokens: number;
}

type Scenario = 'sequential' | 'parallel' | 'parallel-warm' | 'parallel-cold' | 'naive';

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return (at === -1 ? undefined : process.argv[at + 1]) ?? fallback;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/**
 * Billed input cost of every call the server answered after the first `warmUps` (input, cache writes and
 * reads, not output), and token counts.
 */
function inputCost(
  stats: MessagesApiStats,
  warmUps: number,
  at: Date,
): Pick<
  ScenarioRun,
  'inputCostMicroUsd' | 'cacheReadTokens' | 'cacheWriteTokens' | 'inputTokens' | 'outputTokens'
> {
  let inputCostMicroUsd = 0;
  let cacheReadTokens = 0;
  let cacheWriteTokens = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  for (const entry of stats.received.slice(warmUps)) {
    if (!entry.usage) continue;
    const usage = {
      inputTokens: entry.usage.input_tokens,
      outputTokens: 0,
      cacheCreationInputTokens: entry.usage.cache_creation_input_tokens,
      cacheReadInputTokens: entry.usage.cache_read_input_tokens,
      cacheCreation5mInputTokens: entry.usage.cache_creation.ephemeral_5m_input_tokens,
      cacheCreation1hInputTokens: entry.usage.cache_creation.ephemeral_1h_input_tokens,
    };
    inputCostMicroUsd += costMicroUsd(entry.params.model, usage, at);
    cacheReadTokens += usage.cacheReadInputTokens;
    cacheWriteTokens += usage.cacheCreationInputTokens;
    inputTokens += usage.inputTokens;
    outputTokens += entry.usage.output_tokens;
  }
  return { inputCostMicroUsd, cacheReadTokens, cacheWriteTokens, inputTokens, outputTokens };
}

/**
 * A model the workflow never calls: the warm-up request of a fresh API runs on it, so its cache entries (keyed
 * by model) serve none of the measured calls.
 */
const freshApiWarmUpModel = 'claude-opus-5-5';

/** What the service ran just before in `parallel-warm`: another story, so only the instructions are cached. */
const earlierStory = parseStory(
  "As a museum visitor, I want to see today's opening hours so that I can plan my visit.",
);

/** Every model the workflow calls: the iterations' and the passes'. */
const workflowModels = [...new Set([...iterationIds.map((id) => iterationModel(id)), passModel()])];

const isIterationCall = (event: LlmAttemptEvent) => iterationIds.some((id) => id === event.iterationId);

interface Settings {
  latency: LatencyModel;
  minCacheableTokens: number;
  rewriteRounds: number;
}

/**
 * The local Messages API in a process of its own, as the real API is remote: its work (reading prompts,
 * answering with the offline engine, streaming) does not share the workflow's event loop.
 */
async function startServerProcess(settings: Settings): Promise<{
  url: string;
  stats: () => Promise<MessagesApiStats>;
  close: () => Promise<void>;
}> {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(__dirname, '..', 'local', 'messages-api', 'main.js'), '--port', '0'],
    {
      env: {
        ...process.env,
        MESSAGES_API_LATENCY_BASE_MS: String(settings.latency.baseMs),
        MESSAGES_API_LATENCY_PER_TOKEN_MS: String(settings.latency.perOutputTokenMs),
        MESSAGES_API_MIN_CACHEABLE_TOKENS: String(settings.minCacheableTokens),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (found) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`The Messages API server exited (${code}): ${output}`)));
  });
  return {
    url,
    stats: async () => (await (await fetch(`${url}/_admin/stats`)).json()) as MessagesApiStats,
    close: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function runScenario(scenario: Scenario, story: Story, settings: Settings): Promise<ScenarioRun> {
  const server = await startServerProcess(settings);
  const events: LlmAttemptEvent[] = [];
  const llm = createAnthropicAdapter({
    apiKey: 'bench-key',
    baseURL: server.url,
    timeoutMs: 120_000,
    maxRetries: 0,
    promptCaching: scenario !== 'naive',
    onAttempt: (event) => events.push(event),
  });
  try {
    // The real API is a warm service and a deployed host keeps its connection: requests first, so the first
    // measured call pays neither a fresh server process's start-up nor a new connection. On another model
    // their cache entries serve nothing measured; in `parallel-warm` they are the service's previous job.
    const warmUps =
      scenario === 'parallel-warm'
        ? workflowModels.map((model) =>
            buildIterationRequest({ story: earlierStory, iterationId: 'user-roles', model, attempt: 1 }),
          )
        : [
            buildIterationRequest({
              story,
              iterationId: 'user-roles',
              model: freshApiWarmUpModel,
              attempt: 1,
            }),
          ];
    for (const request of warmUps) await llm.generate(request);
    events.length = 0;
    const started = performance.now();
    let firstVerdictMs = Number.NaN;
    const result = await runWorkflow({
      story,
      llm,
      iterations: iterationIds,
      rewriteRounds: settings.rewriteRounds,
      onEvent: (event) => {
        if (event.type === 'review:complete' && event.round === 1)
          firstVerdictMs = performance.now() - started;
      },
      ...(scenario === 'sequential' ? { concurrency: 1 } : {}),
      ...(scenario === 'parallel-cold' ? { warmCache: false } : {}),
    });
    const wallMs = performance.now() - started;
    const failures = events.filter((event) => event.outcome !== 'success');
    if (failures.length > 0)
      throw new Error(`${failures.length} call(s) failed: ${JSON.stringify(failures[0])}`);
    return {
      wallMs,
      firstVerdictMs,
      iterationCallMs: events.filter(isIterationCall).map((event) => event.durationMs),
      passCallMs: events.filter((event) => !isIterationCall(event)).map((event) => event.durationMs),
      judgeRounds: result.review?.rounds ?? 0,
      ...inputCost(await server.stats(), warmUps.length, new Date()),
    };
  } finally {
    await server.close();
  }
}

function readStories(dir: string): { name: string; story: Story }[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => ({ name, story: parseStory(readFileSync(join(dir, name), 'utf8')) }));
}

const fmt = (ms: number) => `${Math.round(ms)} ms`;
const ratio = (value: number) => value.toFixed(2);
const sumOf = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

async function main(): Promise<void> {
  const dir = argument('--stories', sampleStoriesDir);
  const latency = {
    // A Sonnet-class model at a tenth of real time: about 1 s to the first token, about 15 ms per output token.
    baseMs: Number(argument('--base-ms', '100')),
    perOutputTokenMs: Number(argument('--per-token-ms', '1.5')),
  };
  const minCacheable = Number(argument('--min-cacheable', '2048'));
  const rewriteRounds = Number(argument('--rewrite-rounds', '1'));
  const stories = readStories(dir);
  const scenarios: Scenario[] = ['sequential', 'parallel', 'parallel-warm', 'parallel-cold', 'naive'];
  const totals = new Map<Scenario, ScenarioRun[]>(scenarios.map((scenario) => [scenario, []]));
  process.stdout.write(
    `LLM caching benchmark: ${stories.length} stories from ${dir}; 12 iterations, consolidation, judge and up to ${rewriteRounds} rewrite round(s); latency ${latency.baseMs} ms + ${latency.perOutputTokenMs} ms/output token; minimum cacheable prefix ${minCacheable} tokens; model per catalog\n\n`,
  );
  process.stdout.write(
    'story                     calls judge  seq wall  par wall  slowest it  passes  par/slowest  verdict/slowest  warm/slowest  cold wall  input $ parallel  naive     saving\n',
  );
  for (const { name, story } of stories) {
    const runs = new Map<Scenario, ScenarioRun>();
    for (const scenario of scenarios) {
      const run = await runScenario(scenario, story, {
        latency,
        minCacheableTokens: minCacheable,
        rewriteRounds,
      });
      runs.set(scenario, run);
      totals.get(scenario)?.push(run);
    }
    const seq = runs.get('sequential');
    const par = runs.get('parallel');
    const warm = runs.get('parallel-warm');
    const cold = runs.get('parallel-cold');
    const naive = runs.get('naive');
    if (!seq || !par || !warm || !cold || !naive) continue;
    const slowest = Math.max(...par.iterationCallMs);
    const calls = par.iterationCallMs.length + par.passCallMs.length;
    process.stdout.write(
      `${name.padEnd(25)} ${String(calls).padStart(5)} ${String(par.judgeRounds).padStart(5)}  ${fmt(seq.wallMs).padStart(8)}  ${fmt(par.wallMs).padStart(8)}  ${fmt(slowest).padStart(10)}  ${fmt(sumOf(par.passCallMs)).padStart(6)}  ${ratio(par.wallMs / slowest).padStart(11)}  ${ratio(par.firstVerdictMs / slowest).padStart(15)}  ${ratio(warm.wallMs / Math.max(...warm.iterationCallMs)).padStart(12)}  ${fmt(cold.wallMs).padStart(9)}  ${microUsdToUsd(par.inputCostMicroUsd).toFixed(6).padStart(16)}  ${microUsdToUsd(naive.inputCostMicroUsd).toFixed(6)}  ${(100 * (1 - par.inputCostMicroUsd / naive.inputCostMicroUsd)).toFixed(1).padStart(5)}%\n`,
    );
  }

  const all = (scenario: Scenario) => totals.get(scenario) ?? [];
  const sum = (scenario: Scenario, pick: (run: ScenarioRun) => number) => sumOf(all(scenario).map(pick));
  const walls = (scenario: Scenario) => all(scenario).map((run) => run.wallMs);
  process.stdout.write('\nSummary\n');
  for (const scenario of scenarios) {
    const calls = all(scenario).flatMap((run) => [...run.iterationCallMs, ...run.passCallMs]);
    process.stdout.write(
      `  ${scenario.padEnd(14)} call median ${fmt(percentile(calls, 50))}, p95 ${fmt(percentile(calls, 95))}; workflow wall median ${fmt(percentile(walls(scenario), 50))}, p95 ${fmt(percentile(walls(scenario), 95))}; input tokens fresh/written/read ${sum(scenario, (run) => run.inputTokens)}/${sum(scenario, (run) => run.cacheWriteTokens)}/${sum(scenario, (run) => run.cacheReadTokens)}; billed input $${microUsdToUsd(sum(scenario, (run) => run.inputCostMicroUsd)).toFixed(6)}; ${calls.length} calls, output tokens ${sum(scenario, (run) => run.outputTokens)}\n`,
    );
  }
  const naiveCost = sum('naive', (run) => run.inputCostMicroUsd);
  for (const scenario of ['parallel', 'parallel-warm', 'parallel-cold'] as const) {
    const overSlowest = all(scenario).map((run) => run.wallMs / Math.max(...run.iterationCallMs));
    const verdictOverSlowest = all(scenario).map(
      (run) => run.firstVerdictMs / Math.max(...run.iterationCallMs),
    );
    process.stdout.write(
      `  ${scenario}: wall / slowest iteration median ${ratio(percentile(overSlowest, 50))}, p95 ${ratio(percentile(overSlowest, 95))}, max ${ratio(Math.max(...overSlowest))} (target <= 2.0); to the first verdict (consolidation and one judge round, no rewrite) median ${ratio(percentile(verdictOverSlowest, 50))}, max ${ratio(Math.max(...verdictOverSlowest))}; sequential / parallel wall ${ratio(sum('sequential', (run) => run.wallMs) / sum(scenario, (run) => run.wallMs))}x; billed input ${(100 * (1 - sum(scenario, (run) => run.inputCostMicroUsd) / naiveCost)).toFixed(1)}% below naive (target >= 60%)\n`,
    );
  }
  process.stdout.write(
    `  sequential: billed input ${(100 * (1 - sum('sequential', (run) => run.inputCostMicroUsd) / naiveCost)).toFixed(1)}% below naive\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
