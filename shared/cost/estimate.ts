import { defaultModels } from '../engine/catalog';
import { costMicroUsd, microUsdToUsd } from '../llm/pricing';
import { azurePriceTable, type AzurePrices } from './azure-prices';

/**
 * A monthly cost estimate for a deployment of `infra/`: Claude tokens priced with the project's pricing
 * table, and the Azure resources priced from `azure-prices.ts`. Pure: the same inputs give the same numbers.
 */

/**
 * Tokens per call, as measured by `bench/llm-caching.ts` on 2026-12-02 (parallel scenario, the default: the
 * whole workflow on 12 sample stories, 151 calls through the real SDK and the local Messages API, prompt
 * caching with cache warm-up): 1,393,022 prompt tokens, of which 1,145,381 cache reads, 235,101 cache writes
 * and 12,540 fresh input (billed input 76.5% below the same calls without caching), and 22,382 output tokens.
 * Of the calls, 126 were iterations and 25 workflow passes: consolidation and the judge on every story, and a
 * rewrite round on 1 of the 12 (it changed nothing, so it was not judged again). The prompt is mostly the
 * shared instructions (the iteration guides), which the cache serves after the first call of each model.
 * Output tokens are the offline engine's answers to the same schema, writing only the fields their purpose
 * uses; a model's real answers may be longer (pass `outputTokensPerCall`).
 */
export const measuredLlmProfile = {
  source: 'bench/llm-caching.ts, parallel scenario, 12 sample stories, 151 calls, 2026-12-02',
  promptTokensPerCall: 9_225,
  cacheReadShare: 0.822,
  cacheWriteShare: 0.169,
  outputTokensPerCall: 148,
  /** Consolidation, judge and rewrite calls per job (25 over 12 stories). */
  passCallsPerJob: 2.08,
} as const;

/**
 * Azure usage per job, estimated from what the code does (counted from the code paths, not measured in
 * Azure): see each field. `infra/` sizes instances at 2,048 MB.
 */
export const jobResourceProfile = {
  instanceMemoryGb: 2,
  /** Billed instance time per iteration call: an LLM call takes 15-40 s; parallel calls share an instance. */
  instanceSecondsPerJob: 45,
  /** Status polls, the creation, a stream or two. */
  httpRequestsPerJob: 12,
  /** Activities besides the iterations and passes: slot, start, merge, finish (and approvals in interactive mode). */
  bookkeepingActivities: 4,
  /** Cosmos: per iteration, job updates, result, usage record, quota reserve and settle, progress events. */
  cosmosWritesPerIteration: 10,
  /** Cosmos: per iteration, cancel-flag polls (every 500 ms of a ~25 s call) and reads. */
  cosmosReadsPerIteration: 55,
  cosmosWritesPerJob: 20,
  cosmosRuPerWrite: 8,
  cosmosRuPerRead: 1,
  /** Job document, results, usage records and events kept for a month. */
  cosmosKbPerJob: 60,
  /** Durable Functions task hub: queue messages and history rows per activity (writes and reads). */
  storageWritesPerActivity: 12,
  storageReadsPerActivity: 12,
  /** Web PubSub progress messages per iteration (start, chunks, complete). */
  webPubSubMessagesPerIteration: 6,
  /** Key Vault reads: each secret once per instance start and per cache TTL (5 min) while active. */
  keyVaultSecrets: 2,
  secretTtlSeconds: 300,
  /** Application Insights envelopes per job (spans for requests, activities, LLM calls), measured by the telemetry test. */
  telemetryKbPerJob: 40,
  /** Standard and custom metrics, performance counters: per instance-hour active. */
  telemetryKbPerInstanceHour: 1_200,
  /** One vision call per uploaded mockup: image tokens (about width × height / 750) plus instructions. */
  mockupPromptTokens: 2_000,
  mockupOutputTokens: 400,
  mockupMb: 1,
} as const;

export interface EstimateInput {
  jobsPerMonth: number;
  iterations: number;
  mockups: number;
  model: string;
  /** Web PubSub units (Standard_S1); 0 for the free tier. */
  webPubSubUnits: number;
  prices: AzurePrices;
  /** When the LLM prices apply (the pricing table has effective dates). */
  at: Date;
  outputTokensPerCall?: number;
}

export interface LineItem {
  area: 'LLM' | 'Azure';
  item: string;
  quantity: number;
  unit: string;
  usd: number;
}

export interface Estimate {
  items: LineItem[];
  totalUsd: number;
  perJobUsd: number;
}

const daysPerMonth = 30;

export const defaultEstimateInput = {
  iterations: 12,
  mockups: 1,
  model: defaultModels.standard,
  webPubSubUnits: 1,
} as const;

/** One call's usage with the prompt split as measured: fresh input, cache writes (5 min) and cache reads. */
function callUsage(outputTokens: number) {
  const prompt = measuredLlmProfile.promptTokensPerCall;
  const read = Math.round(prompt * measuredLlmProfile.cacheReadShare);
  const written = Math.round(prompt * measuredLlmProfile.cacheWriteShare);
  return {
    inputTokens: prompt - read - written,
    outputTokens,
    cacheReadInputTokens: read,
    cacheCreationInputTokens: written,
    cacheCreation5mInputTokens: written,
    cacheCreation1hInputTokens: 0,
  };
}

const round = (usd: number) => Math.round(usd * 100) / 100;

export function estimateMonthlyCost(input: EstimateInput): Estimate {
  const p = input.prices;
  const r = jobResourceProfile;
  const jobs = input.jobsPerMonth;
  const items: LineItem[] = [];
  const add = (area: LineItem['area'], item: string, quantity: number, unit: string, usd: number) =>
    items.push({ area, item, quantity, unit, usd: round(usd) });

  // Claude: one call per iteration, the workflow passes, plus one vision call per mockup.
  const calls = jobs * input.iterations;
  const perCall = costMicroUsd(
    input.model,
    callUsage(input.outputTokensPerCall ?? measuredLlmProfile.outputTokensPerCall),
    input.at,
  );
  add('LLM', `${input.model}: iteration calls`, calls, 'calls', microUsdToUsd(perCall) * calls);
  const passCalls = jobs * measuredLlmProfile.passCallsPerJob;
  add(
    'LLM',
    `${input.model}: consolidation, judge and rewrite calls`,
    passCalls,
    'calls',
    microUsdToUsd(perCall) * passCalls,
  );
  const mockupCalls = jobs * input.mockups;
  if (mockupCalls > 0) {
    const perMockup = costMicroUsd(
      input.model,
      {
        inputTokens: r.mockupPromptTokens,
        outputTokens: r.mockupOutputTokens,
        cacheReadInputTokens: 0,
        cacheCreationInputTokens: 0,
      },
      input.at,
    );
    add(
      'LLM',
      `${input.model}: mockup vision calls`,
      mockupCalls,
      'calls',
      microUsdToUsd(perMockup) * mockupCalls,
    );
  }

  // Functions (Flex Consumption, on demand), after the monthly free grant.
  const activities = input.iterations + measuredLlmProfile.passCallsPerJob + r.bookkeepingActivities;
  // Each activity completion replays the orchestrator once; uploads add a request and a blob trigger.
  const executions = jobs * (r.httpRequestsPerJob + 2 * activities + 1 + 2 * input.mockups);
  const gbSeconds = jobs * r.instanceSecondsPerJob * r.instanceMemoryGb;
  const free = azurePriceTable.freeGrants;
  add(
    'Azure',
    'Functions Flex Consumption: executions',
    executions,
    'executions',
    (Math.max(0, executions - free.functionsExecutions) / 1_000_000) * p.functionsMillionExecutions,
  );
  add(
    'Azure',
    'Functions Flex Consumption: execution time',
    gbSeconds,
    'GB-s',
    Math.max(0, gbSeconds - free.functionsGbSeconds) * p.functionsGbSecond,
  );

  // Cosmos DB serverless.
  const ru =
    jobs *
    ((r.cosmosWritesPerJob + r.cosmosWritesPerIteration * input.iterations) * r.cosmosRuPerWrite +
      r.cosmosReadsPerIteration * input.iterations * r.cosmosRuPerRead);
  add('Azure', 'Cosmos DB serverless: request units', ru, 'RU', (ru / 1_000_000) * p.cosmosMillionRu);
  const cosmosGb = (jobs * r.cosmosKbPerJob) / 1_048_576;
  add('Azure', 'Cosmos DB: storage (one month of jobs)', cosmosGb, 'GB', cosmosGb * p.cosmosGbMonth);

  // Storage: the durable task hub's queues and tables, and uploaded mockups.
  const writes = jobs * (activities * r.storageWritesPerActivity + 3 * input.mockups);
  const reads = jobs * (activities * r.storageReadsPerActivity + 2 * input.mockups);
  add(
    'Azure',
    'Storage: operations (task hub, uploads)',
    writes + reads,
    'operations',
    (writes / 10_000) * p.storageWriteOps10k + (reads / 10_000) * p.storageReadOps10k,
  );
  const blobGb = (jobs * input.mockups * r.mockupMb) / 1024;
  add('Azure', 'Storage: mockups (one month)', blobGb, 'GB', blobGb * p.blobHotGbMonth);

  // Web PubSub: units a day (messages stay within each unit's daily million here).
  const messages = jobs * input.iterations * r.webPubSubMessagesPerIteration;
  add(
    'Azure',
    `Web PubSub: ${input.webPubSubUnits === 0 ? 'Free_F1' : `${input.webPubSubUnits} Standard_S1 unit(s)`} (${Math.round(messages)} messages)`,
    input.webPubSubUnits * daysPerMonth,
    'unit-days',
    input.webPubSubUnits * daysPerMonth * p.webPubSubStandardUnitDay,
  );

  // Key Vault: secret reads per instance start and cache period.
  const activeHours = (jobs * r.instanceSecondsPerJob) / 3_600;
  const keyVaultOps = r.keyVaultSecrets * (jobs + (activeHours * 3_600) / r.secretTtlSeconds);
  add(
    'Azure',
    'Key Vault: secret operations',
    keyVaultOps,
    'operations',
    (keyVaultOps / 10_000) * p.keyVaultOps10k,
  );

  // Application Insights: spans per job and metrics per active instance-hour, after the free 5 GB.
  const telemetryGb = (jobs * r.telemetryKbPerJob + activeHours * r.telemetryKbPerInstanceHour) / 1_048_576;
  add(
    'Azure',
    'Application Insights: ingestion',
    telemetryGb,
    'GB',
    Math.max(0, telemetryGb - free.appInsightsGb) * p.appInsightsGb,
  );

  const totalUsd = round(items.reduce((sum, line) => sum + line.usd, 0));
  return { items, totalUsd, perJobUsd: jobs > 0 ? Math.round((totalUsd / jobs) * 10_000) / 10_000 : 0 };
}

/** The estimate as a plain-text report, with the sources of every price and profile. */
export function formatEstimate(
  input: EstimateInput,
  estimate: Estimate,
  priceSource: { source: string; date: string; region: string },
): string {
  const lines = [
    `Monthly cost estimate: ${input.jobsPerMonth} jobs, ${input.iterations} iterations, ${input.mockups} mockup(s) each, model ${input.model}`,
    '',
    `${'area'.padEnd(6)} ${'item'.padEnd(62)} ${'quantity'.padStart(14)} ${'unit'.padEnd(11)} ${'USD/month'.padStart(11)}`,
    ...estimate.items.map(
      (line) =>
        `${line.area.padEnd(6)} ${line.item.padEnd(62)} ${formatQuantity(line.quantity).padStart(14)} ${line.unit.padEnd(11)} ${line.usd.toFixed(2).padStart(11)}`,
    ),
    '',
    `Total: $${estimate.totalUsd.toFixed(2)} a month ($${estimate.perJobUsd.toFixed(4)} a job)`,
    '',
    `Azure prices: ${priceSource.source}, ${priceSource.region}, as of ${priceSource.date}`,
    `Claude prices: shared/llm/pricing-table.ts, as effective on ${input.at.toISOString().slice(0, 10)}`,
    `Tokens per call: ${measuredLlmProfile.promptTokensPerCall} prompt (${Math.round(measuredLlmProfile.cacheReadShare * 100)}% cache reads, ${Math.round(measuredLlmProfile.cacheWriteShare * 100)}% cache writes), ${input.outputTokensPerCall ?? measuredLlmProfile.outputTokensPerCall} output; source: ${measuredLlmProfile.source}`,
    'Azure usage per job: estimated from the code paths (shared/cost/estimate.ts, jobResourceProfile).',
  ];
  return `${lines.join('\n')}\n`;
}

function formatQuantity(quantity: number): string {
  return quantity >= 100
    ? Math.round(quantity).toLocaleString('en-US')
    : quantity.toLocaleString('en-US', { maximumFractionDigits: 2 });
}
