import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { azurePriceTable, pricesFromRetailItems, type RetailPriceItem } from './azure-prices';
import { estimateMonthlyCost, formatEstimate, type EstimateInput } from './estimate';

const fixed: EstimateInput = {
  jobsPerMonth: 1_000,
  iterations: 12,
  mockups: 1,
  model: 'claude-sonnet-5-5',
  webPubSubUnits: 1,
  prices: azurePriceTable.prices,
  at: new Date('2026-12-01T00:00:00Z'),
};

const usdOf = (estimate: ReturnType<typeof estimateMonthlyCost>, prefix: string) =>
  estimate.items.find((line) => line.item.startsWith(prefix))?.usd;

describe('estimateMonthlyCost', () => {
  it('prices 1,000 jobs of 12 iterations and one mockup on Sonnet 5.5', () => {
    const estimate = estimateMonthlyCost(fixed);
    // Per call: 9,225 prompt tokens = 83 fresh × $2 + 1,559 cache writes × $2.50 + 7,583 cache reads × $0.10,
    // plus 148 output × $10 (per million) = 6,302 µUSD; 12,000 iteration calls and 2.08 pass calls a job.
    expect(usdOf(estimate, 'claude-sonnet-5-5: iteration calls')).toBe(75.62);
    expect(usdOf(estimate, 'claude-sonnet-5-5: consolidation, judge and rewrite calls')).toBe(13.11);
    // Per mockup: 2,000 input × $2 + 400 output × $10 = 8,000 µUSD; 1,000 calls.
    expect(usdOf(estimate, 'claude-sonnet-5-5: mockup vision calls')).toBe(8);
    // 12 requests + 2 × (12 iterations + 2.08 passes + 4 bookkeeping) replays + 3 for the mockup = 51.16
    // executions a job: 51,160 and 90,000 GB-s stay inside the monthly free grant.
    expect(estimate.items.find((line) => line.item.endsWith('executions'))?.quantity).toBe(51_160);
    expect(usdOf(estimate, 'Functions Flex Consumption: execution time')).toBe(0);
    // (20 + 10 × 12) writes × 8 RU + 55 × 12 reads × 1 RU = 1,780 RU a job.
    expect(estimate.items.find((line) => line.item.startsWith('Cosmos DB serverless'))?.quantity).toBe(
      1_780_000,
    );
    expect(usdOf(estimate, 'Cosmos DB serverless')).toBe(0.45);
    expect(usdOf(estimate, 'Web PubSub')).toBe(48.3);
    expect(estimate.totalUsd).toBe(146.71);
    expect(estimate.perJobUsd).toBe(0.1467);
  });

  it('charges what exceeds the free grants at scale, and nothing for Web PubSub on the free tier', () => {
    const estimate = estimateMonthlyCost({ ...fixed, jobsPerMonth: 100_000, webPubSubUnits: 0 });
    // (5,116,000 - 250,000) executions × $0.40 per million.
    expect(usdOf(estimate, 'Functions Flex Consumption: executions')).toBe(1.95);
    // (9,000,000 - 100,000) GB-s × $0.000026.
    expect(usdOf(estimate, 'Functions Flex Consumption: execution time')).toBe(231.4);
    // 100,000 × 40 KB + 1,250 instance-hours × 1,200 KB = 5.245 GB, 0.245 GB over the free 5 GB × $2.30.
    expect(usdOf(estimate, 'Application Insights')).toBe(0.56);
    expect(usdOf(estimate, 'Web PubSub')).toBe(0);
    expect(usdOf(estimate, 'claude-sonnet-5-5: iteration calls')).toBe(7_562.4);
  });

  it('refuses a model the pricing table does not know instead of pricing it at zero', () => {
    expect(() => estimateMonthlyCost({ ...fixed, model: 'claude-unknown-9' })).toThrow();
  });

  it('prints every line, the total and the sources with their dates', () => {
    const text = formatEstimate(fixed, estimateMonthlyCost(fixed), {
      source: azurePriceTable.source,
      date: azurePriceTable.compiled,
      region: azurePriceTable.region,
    });
    expect(text).toContain('Total: $146.71 a month ($0.1467 a job)');
    expect(text).toContain(`as of ${azurePriceTable.compiled}`);
    expect(text).toContain('https://azure.microsoft.com/pricing/');
    expect(text).toContain('bench/llm-caching.ts');
  });
});

describe('pricesFromRetailItems', () => {
  const item = (fields: Partial<RetailPriceItem>): RetailPriceItem => ({
    serviceName: 'Key Vault',
    productName: 'Key Vault',
    skuName: 'Standard',
    meterName: 'Operations',
    unitOfMeasure: '10K',
    retailPrice: 0.03,
    armRegionName: 'eastus',
    type: 'Consumption',
    ...fields,
  });

  it('takes matching consumption prices in the region, converts units, uses the first paid tier', () => {
    const { prices, unmatched } = pricesFromRetailItems(
      [
        item({ retailPrice: 0.035 }),
        item({ retailPrice: 0.5, armRegionName: 'westeurope' }),
        item({ retailPrice: 0.9, type: 'Reservation' }),
        item({
          serviceName: 'Functions',
          productName: 'Functions Flex Consumption',
          meterName: 'On Demand Total Executions',
          unitOfMeasure: '10',
          retailPrice: 0.000004,
        }),
        item({
          serviceName: 'Log Analytics',
          productName: 'Log Analytics',
          meterName: 'Pay-as-you-go Data Ingestion',
          unitOfMeasure: '1 GB',
          retailPrice: 2.76,
          tierMinimumUnits: 5,
        }),
        item({
          serviceName: 'Log Analytics',
          productName: 'Log Analytics',
          meterName: 'Pay-as-you-go Data Ingestion',
          unitOfMeasure: '1 GB',
          retailPrice: 2.5,
          tierMinimumUnits: 100,
        }),
      ],
      'eastus',
    );
    expect(prices.keyVaultOps10k).toBe(0.035);
    expect(prices.functionsMillionExecutions).toBeCloseTo(0.4, 10);
    expect(prices.appInsightsGb).toBe(2.76);
    expect(prices.cosmosMillionRu).toBe(azurePriceTable.prices.cosmosMillionRu);
    expect(unmatched).toContain('cosmosMillionRu');
    expect(unmatched).not.toContain('keyVaultOps10k');
  });
});

describe('npm run cost:estimate', () => {
  const cli = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'cost-estimate.js');
  const run = promisify(execFile);

  it('prints an estimate for the given jobs, and exits 2 on a bad option', async () => {
    const { stdout } = await run(process.execPath, [cli, '--jobs-per-month', '250', '--iterations', '6']);
    expect(stdout).toContain('Monthly cost estimate: 250 jobs, 6 iterations');
    expect(stdout).toMatch(/^Total: \$\d+\.\d{2} a month/m);
    const failed = await run(process.execPath, [cli, '--jobs-per-month', 'many']).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed).toMatchObject({ code: 2 });
  });
});
