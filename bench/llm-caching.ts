import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { offlineResponder } from '../local/messages-api/offline-responder';
import {
  startMessagesApiServer,
  type LatencyModel,
  type MessagesApiServer,
} from '../local/messages-api/server';
import { sampleStoriesDir } from '../shared/engine/fixtures/sample-stories';
import { runWorkflow } from '../shared/engine/runner';
import { parseStory, type Story } from '../shared/engine/story';
import { createAnthropicAdapter, type LlmAttemptEvent } from '../shared/llm/anthropic-adapter';
import { costMicroUsd, microUsdToUsd } from '../shared/llm/pricing';

/**
 * Prompt caching and parallelism benchmark: every applicable iteration of every sample story, through the
 * Anthropic adapter and the real SDK against the local Messages API server (offline engine content, latency
 * model, 1,024-token minimum cacheable prefix). Per story and scenario a fresh server, so no cache leaks
 * between scenarios.
 *
 * Scenarios (all through `runWorkflow`): `sequential` (one call at a time), `parallel` (the default: per
 * model, the first call warms the cached prefix and the others start once its first text arrives),
 * `parallel-cold` (`warmCache: false`: every call launched at once) and `naive` (parallel, no
 * `cache_control`, so the whole prompt is billed as fresh input on every call).
 *
 * Run: `npm run build && node dist/bench/llm-caching.js [--stories DIR (default examples/stories)] [--base-ms N] [--per-token-ms N]`.
 */

interface ScenarioRun {
  wallMs: number;
  callMs: number[];
  inputCostMicroUsd: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  inputTokens: number;
  outputTokens: number;
}

type Scenario = 'sequential' | 'parallel' | 'parallel-cold' | 'naive';

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return (at === -1 ? undefined : process.argv[at + 1]) ?? fallback;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Billed input cost of every call the server answered (input, cache writes and reads, not output), and token counts. */
function inputCost(server: MessagesApiServer, at: Date): Omit<ScenarioRun, 'wallMs' | 'callMs'> {
  let inputCostMicroUsd = 0;
  let cacheReadTokens = 0;
  let cacheWriteTokens = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  for (const entry of server.stats.received) {
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

async function runScenario(scenario: Scenario, story: Story, latency: LatencyModel): Promise<ScenarioRun> {
  const server = await startMessagesApiServer({ responder: offlineResponder, latency });
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
    const started = performance.now();
    await runWorkflow({
      story,
      llm,
      ...(scenario === 'sequential' ? { concurrency: 1 } : {}),
      ...(scenario === 'parallel-cold' ? { warmCache: false } : {}),
    });
    const wallMs = performance.now() - started;
    const failures = events.filter((event) => event.outcome !== 'success');
    if (failures.length > 0)
      throw new Error(`${failures.length} call(s) failed: ${JSON.stringify(failures[0])}`);
    return { wallMs, callMs: events.map((event) => event.durationMs), ...inputCost(server, new Date()) };
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

async function main(): Promise<void> {
  const dir = argument('--stories', sampleStoriesDir);
  const latency = {
    // A Sonnet-class model at a tenth of real time: about 1 s to the first token, about 15 ms per output token.
    baseMs: Number(argument('--base-ms', '100')),
    perOutputTokenMs: Number(argument('--per-token-ms', '1.5')),
  };
  const stories = readStories(dir);
  const scenarios: Scenario[] = ['sequential', 'parallel', 'parallel-cold', 'naive'];
  const totals = new Map<Scenario, ScenarioRun[]>(scenarios.map((scenario) => [scenario, []]));
  process.stdout.write(
    `LLM caching benchmark: ${stories.length} stories from ${dir}, latency ${latency.baseMs} ms + ${latency.perOutputTokenMs} ms/output token, model per catalog\n\n`,
  );
  process.stdout.write(
    'story                      calls  seq wall  par wall  slowest  par/slowest  cold wall  input $ parallel  cold      naive     saving\n',
  );
  for (const { name, story } of stories) {
    const runs = new Map<Scenario, ScenarioRun>();
    for (const scenario of scenarios) {
      const run = await runScenario(scenario, story, latency);
      runs.set(scenario, run);
      totals.get(scenario)?.push(run);
    }
    const seq = runs.get('sequential');
    const par = runs.get('parallel');
    const cold = runs.get('parallel-cold');
    const naive = runs.get('naive');
    if (!seq || !par || !cold || !naive) continue;
    const slowestPar = Math.max(...par.callMs);
    process.stdout.write(
      `${name.padEnd(26)} ${String(par.callMs.length).padStart(5)}  ${fmt(seq.wallMs).padStart(8)}  ${fmt(par.wallMs).padStart(8)}  ${fmt(slowestPar).padStart(7)}  ${ratio(par.wallMs / slowestPar).padStart(11)}  ${fmt(cold.wallMs).padStart(9)}  ${microUsdToUsd(par.inputCostMicroUsd).toFixed(6).padStart(16)}  ${microUsdToUsd(cold.inputCostMicroUsd).toFixed(6)}  ${microUsdToUsd(naive.inputCostMicroUsd).toFixed(6)}  ${(100 * (1 - par.inputCostMicroUsd / naive.inputCostMicroUsd)).toFixed(1).padStart(5)}%\n`,
    );
  }

  const all = (scenario: Scenario) => totals.get(scenario) ?? [];
  const sum = (scenario: Scenario, pick: (run: ScenarioRun) => number) =>
    all(scenario).reduce((acc, run) => acc + pick(run), 0);
  const ratios = (scenario: Scenario) => all(scenario).map((run) => run.wallMs / Math.max(...run.callMs));
  const calls = (scenario: Scenario) => all(scenario).flatMap((run) => run.callMs);
  process.stdout.write('\nSummary\n');
  for (const scenario of scenarios) {
    process.stdout.write(
      `  ${scenario.padEnd(14)} call median ${fmt(percentile(calls(scenario), 50))}, p95 ${fmt(percentile(calls(scenario), 95))}; story wall median ${fmt(
        percentile(
          all(scenario).map((run) => run.wallMs),
          50,
        ),
      )}, p95 ${fmt(
        percentile(
          all(scenario).map((run) => run.wallMs),
          95,
        ),
      )}; input tokens fresh/written/read ${sum(scenario, (run) => run.inputTokens)}/${sum(scenario, (run) => run.cacheWriteTokens)}/${sum(scenario, (run) => run.cacheReadTokens)}; billed input $${microUsdToUsd(sum(scenario, (run) => run.inputCostMicroUsd)).toFixed(6)}; ${calls(scenario).length} calls, output tokens ${sum(scenario, (run) => run.outputTokens)}\n`,
    );
  }
  const naiveCost = sum('naive', (run) => run.inputCostMicroUsd);
  for (const scenario of ['parallel', 'parallel-cold'] as const) {
    const wallOverSlowest = ratios(scenario);
    process.stdout.write(
      `  ${scenario}: wall / slowest call median ${ratio(percentile(wallOverSlowest, 50))}, p95 ${ratio(percentile(wallOverSlowest, 95))}, max ${ratio(Math.max(...wallOverSlowest))} (target <= 1.5); sequential / parallel wall ${ratio(sum('sequential', (run) => run.wallMs) / sum(scenario, (run) => run.wallMs))}x; input cost ${(100 * (1 - sum(scenario, (run) => run.inputCostMicroUsd) / naiveCost)).toFixed(1)}% below naive (target >= 60%)\n`,
    );
  }
  process.stdout.write(
    `  sequential: input cost ${(100 * (1 - sum('sequential', (run) => run.inputCostMicroUsd) / naiveCost)).toFixed(1)}% below naive\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
