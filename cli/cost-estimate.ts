#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  azurePriceTable,
  fetchRetailPriceItems,
  pricesFromRetailItems,
  type AzurePrices,
} from '../shared/cost/azure-prices';
import { defaultEstimateInput, estimateMonthlyCost, formatEstimate } from '../shared/cost/estimate';
import { pricingRowAt } from '../shared/llm/pricing';

/**
 * `npm run cost:estimate -- --jobs-per-month N [--iterations 12] [--mockups 1] [--model M]
 * [--output-tokens N] [--web-pubsub-units 1] [--refresh-prices]`: prints a monthly estimate. The numbers
 * come from `shared/cost/`; this file only reads the command line.
 */
const optionsSchema = z.object({
  'jobs-per-month': z.coerce.number().int().nonnegative(),
  iterations: z.coerce.number().int().min(1).max(50).default(defaultEstimateInput.iterations),
  mockups: z.coerce.number().int().min(0).max(20).default(defaultEstimateInput.mockups),
  model: z.string().min(1).default(defaultEstimateInput.model),
  'output-tokens': z.coerce.number().int().positive().optional(),
  'web-pubsub-units': z.coerce.number().int().min(0).max(100).default(defaultEstimateInput.webPubSubUnits),
  'refresh-prices': z.boolean().default(false),
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'jobs-per-month': { type: 'string' },
      iterations: { type: 'string' },
      mockups: { type: 'string' },
      model: { type: 'string' },
      'output-tokens': { type: 'string' },
      'web-pubsub-units': { type: 'string' },
      'refresh-prices': { type: 'boolean' },
    },
  });
  const parsed = optionsSchema.safeParse(values);
  if (!parsed.success) {
    process.stderr.write(`cost:estimate: ${z.prettifyError(parsed.error)}\n`);
    process.exit(2);
  }
  const options = parsed.data;
  const at = new Date();
  pricingRowAt(options.model, at); // An unknown model is an error, never a free one.

  let prices: AzurePrices = { ...azurePriceTable.prices };
  let priceSource: { source: string; date: string; region: string } = {
    source: azurePriceTable.source,
    date: azurePriceTable.compiled,
    region: azurePriceTable.region,
  };
  if (options['refresh-prices']) {
    const refreshed = pricesFromRetailItems(
      await fetchRetailPriceItems(azurePriceTable.region),
      azurePriceTable.region,
    );
    prices = refreshed.prices;
    priceSource = {
      source: `https://prices.azure.com/api/retail/prices${refreshed.unmatched.length > 0 ? ` (table prices kept for: ${refreshed.unmatched.join(', ')})` : ''}`,
      date: at.toISOString().slice(0, 10),
      region: azurePriceTable.region,
    };
  }
  const input = {
    jobsPerMonth: options['jobs-per-month'],
    iterations: options.iterations,
    mockups: options.mockups,
    model: options.model,
    webPubSubUnits: options['web-pubsub-units'],
    prices,
    at,
    ...(options['output-tokens'] === undefined ? {} : { outputTokensPerCall: options['output-tokens'] }),
  };
  process.stdout.write(formatEstimate(input, estimateMonthlyCost(input), priceSource));
}

main().catch((error: unknown) => {
  process.stderr.write(`cost:estimate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
