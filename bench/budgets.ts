import type { PlanLimits } from '../shared/plans/plan';
import { formatMicroUsd } from '../shared/usage/usage-service';
import {
  billedSince,
  quotaCounters,
  refusalFigures,
  runConcurrentJobs,
  startPricedService,
  tenantOnPlan,
} from '../test/support/budget-runs';
import { client } from '../test/support/service';

/**
 * Budget admission benchmark: N jobs (3 iterations each, then consolidation and the judge) submitted at once
 * by one user of a fresh tenant, through the service, the Anthropic adapter and the local Messages API
 * (offline engine content, Sonnet prices), against (1) a budget above their real total, (2) a budget below it and (3) tokens/day below it.
 * For each it prints jobs completed, refused and waited (an `iteration:waiting` event), the provider's bill
 * against the limit, and how many refusals happened while settled usage plus the call's estimate still fitted
 * (the target is 0).
 *
 * Run: `npm run build && node dist/bench/budgets.js [--jobs N]`.
 */
const jobsAt = process.argv.indexOf('--jobs');
const jobs = jobsAt === -1 ? 20 : Number(process.argv[jobsAt + 1]);
const body = {
  story:
    'As a patient, I want to book an appointment with my doctor online so that I do not have to phone the practice.',
  mode: 'workflow',
  iterations: ['user-roles', 'validation', 'security'],
};

interface Scenario {
  name: string;
  limits: Partial<PlanLimits>;
  unit: 'usd' | 'tokens';
}

const scenarios: Scenario[] = [
  { name: 'budget $0.50 (above the real total)', limits: { monthlyBudgetUsd: 0.5 }, unit: 'usd' },
  { name: 'budget $0.10 (below the real total)', limits: { monthlyBudgetUsd: 0.1 }, unit: 'usd' },
  { name: 'tokens/day 100,000 (below the real total)', limits: { tokensPerDay: 100_000 }, unit: 'tokens' },
];

function limitOf(scenario: Scenario): number {
  return scenario.unit === 'usd'
    ? Math.round((scenario.limits.monthlyBudgetUsd ?? 0) * 1_000_000)
    : (scenario.limits.tokensPerDay ?? 0);
}

async function main(): Promise<void> {
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error('--jobs takes a positive whole number');
  const priced = await startPricedService({ baseMs: 200, env: { LOG_LEVEL: 'error' } });
  const { messages, service, admin } = priced;
  try {
    console.log(
      `${jobs} concurrent jobs x ${body.iterations.length} iterations, one user of a fresh tenant each run`,
    );
    for (const [index, scenario] of scenarios.entries()) {
      const tenantId = `bench-budget-${index}`;
      await tenantOnPlan(admin, tenantId, scenario.limits);
      const api = client(service.url, await service.token({ sub: 'bench', tenantId }));
      const from = messages.stats.received.length;
      const run = await runConcurrentJobs(api, jobs, body, 900_000);
      const billed = billedSince(messages, from);
      const counters = await quotaCounters(api);
      const refusals = run.jobs.filter(
        (job) => job.error?.code === 'budget_exceeded' || job.error?.code === 'quota_exceeded',
      );
      const figures = refusals.map((job) => job.error && refusalFigures(job.error));
      const fitted = figures.filter((each) => !each || each.settled + each.needed <= each.limit).length;
      const amount = (value: number) =>
        scenario.unit === 'usd' ? `$${formatMicroUsd(value)}` : `${value} tokens`;
      const completed = run.jobs.filter((job) => job.status === 'completed').length;
      console.log(`\n${scenario.name}`);
      console.log(
        `  completed ${completed}, refused ${refusals.length}, other failures ${run.jobs.length - completed - refusals.length}, waited ${run.waited}; ${(run.wallMs / 1000).toFixed(1)} s`,
      );
      const [billedAmount, settled, held] =
        scenario.unit === 'usd'
          ? [billed.microUsd, counters.settledMicroUsd, counters.heldMicroUsd]
          : [billed.tokens, counters.settledTokens, counters.heldTokens];
      console.log(
        `  final: ${amount(billedAmount)} billed by the provider against a limit of ${amount(limitOf(scenario))}; counters ${amount(settled)} settled, ${amount(held)} held`,
      );
      const roomAtRefusal = figures.map((each) => (each ? each.limit - each.settled : 0));
      const share = refusals.length === 0 ? '' : ` (${((100 * fitted) / refusals.length).toFixed(0)}%)`;
      console.log(
        `  refusals while settled + estimate fitted: ${fitted} of ${refusals.length}${share}${refusals.length === 0 ? '' : `; room left when refused: ${amount(Math.min(...roomAtRefusal))} to ${amount(Math.max(...roomAtRefusal))}`}`,
      );
    }
  } finally {
    await priced.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
