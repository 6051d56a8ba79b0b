import { z } from 'zod';

/**
 * Azure list prices for the resources `infra/` deploys (pay-as-you-go, USD, one region), as data. Compiled
 * offline from the public pricing pages on the date below; `npm run cost:estimate -- --refresh-prices` reads
 * the current ones from the Azure Retail Prices API instead and says which it could match.
 */
export const azurePriceTable = {
  source:
    'https://azure.microsoft.com/pricing/ (list prices; refresh: https://prices.azure.com/api/retail/prices)',
  compiled: '2026-12-01',
  region: 'eastus',
  currency: 'USD',
  prices: {
    /** Flex Consumption, on demand: per GB-second of instance memory while executing. */
    functionsGbSecond: 0.000026,
    /** Flex Consumption, on demand: per million executions. */
    functionsMillionExecutions: 0.4,
    /** Cosmos DB serverless: per million request units. */
    cosmosMillionRu: 0.25,
    /** Cosmos DB: per GB-month of transactional storage. */
    cosmosGbMonth: 0.25,
    /** Blob Storage, hot LRS: per GB-month. */
    blobHotGbMonth: 0.0184,
    /** Storage write operations (blob, queue, table), per 10,000. */
    storageWriteOps10k: 0.05,
    /** Storage read and other operations, per 10,000. */
    storageReadOps10k: 0.004,
    /** Web PubSub Standard: per unit per day (1,000 connections, 1 million messages a day included). */
    webPubSubStandardUnitDay: 1.61,
    /** Key Vault standard: per 10,000 secret operations. */
    keyVaultOps10k: 0.03,
    /** Application Insights (Log Analytics, pay as you go): per GB ingested. */
    appInsightsGb: 2.3,
  },
  /** Monthly grants that cost nothing (per subscription or workspace). */
  freeGrants: {
    functionsGbSeconds: 100_000,
    functionsExecutions: 250_000,
    appInsightsGb: 5,
  },
} as const;

export type AzurePriceKey = keyof typeof azurePriceTable.prices;
export type AzurePrices = Record<AzurePriceKey, number>;

/** One item of the Retail Prices API (`Items[]`), the fields this module reads. */
export const retailPriceItemSchema = z.object({
  serviceName: z.string(),
  productName: z.string(),
  skuName: z.string(),
  meterName: z.string(),
  unitOfMeasure: z.string(),
  retailPrice: z.number().nonnegative(),
  armRegionName: z.string(),
  type: z.string(),
  tierMinimumUnits: z.number().optional(),
});
export type RetailPriceItem = z.infer<typeof retailPriceItemSchema>;

interface MeterMatch {
  serviceName: string;
  product: RegExp;
  meter: RegExp;
  /** The table's unit, as a count of the API's unit (e.g. the API prices per 10K operations). */
  units: Record<string, number>;
}

/**
 * How each table price is found among Retail Prices API items: service, product and meter names, and the
 * unit it is quoted in (converted to the table's unit). Tiered meters use their first paid tier.
 */
export const retailMeters: Record<AzurePriceKey, MeterMatch> = {
  functionsGbSecond: {
    serviceName: 'Functions',
    product: /Flex Consumption/i,
    meter: /On Demand Execution Time/i,
    units: { '1 GB Second': 1, '1 GiB Second': 1 },
  },
  functionsMillionExecutions: {
    serviceName: 'Functions',
    product: /Flex Consumption/i,
    meter: /On Demand Total Executions/i,
    units: { '10': 100_000, '1M': 1, '1': 1_000_000 },
  },
  cosmosMillionRu: {
    serviceName: 'Azure Cosmos DB',
    product: /Serverless/i,
    meter: /Serverless.*RU|1M RUs/i,
    units: { '1M': 1, '1': 1_000_000 },
  },
  cosmosGbMonth: {
    serviceName: 'Azure Cosmos DB',
    product: /Azure Cosmos DB$/i,
    meter: /^Data Stored$/i,
    units: { '1 GB/Month': 1 },
  },
  blobHotGbMonth: {
    serviceName: 'Storage',
    product: /General Block Blob v2$/i,
    meter: /^Hot LRS Data Stored$/i,
    units: { '1 GB/Month': 1 },
  },
  storageWriteOps10k: {
    serviceName: 'Storage',
    product: /General Block Blob v2$/i,
    meter: /^Hot LRS Write Operations$/i,
    units: { '10K': 1 },
  },
  storageReadOps10k: {
    serviceName: 'Storage',
    product: /General Block Blob v2$/i,
    meter: /^Hot Read Operations$/i,
    units: { '10K': 1 },
  },
  webPubSubStandardUnitDay: {
    serviceName: 'Azure Web PubSub',
    product: /Web PubSub/i,
    meter: /^Standard Unit$/i,
    units: { '1/Day': 1, '1 Day': 1 },
  },
  keyVaultOps10k: {
    serviceName: 'Key Vault',
    product: /^Key Vault$/i,
    meter: /^Operations$/i,
    units: { '10K': 1 },
  },
  appInsightsGb: {
    serviceName: 'Log Analytics',
    product: /Log Analytics/i,
    meter: /^(Pay-as-you-go|Analytics Logs) Data Ingestion$/i,
    units: { '1 GB': 1 },
  },
};

/**
 * Table prices replaced by the Retail Prices API items that match them (consumption prices in the region,
 * first paid tier). Returns the merged prices and the keys that matched nothing, which keep the table value.
 */
export function pricesFromRetailItems(
  items: readonly RetailPriceItem[],
  region: string,
  base: AzurePrices = azurePriceTable.prices,
): { prices: AzurePrices; unmatched: AzurePriceKey[] } {
  const prices: AzurePrices = { ...base };
  const unmatched: AzurePriceKey[] = [];
  for (const [key, match] of Object.entries(retailMeters) as [AzurePriceKey, MeterMatch][]) {
    const candidates = items
      .filter(
        (item) =>
          item.type === 'Consumption' &&
          item.armRegionName === region &&
          item.serviceName === match.serviceName &&
          match.product.test(item.productName) &&
          match.meter.test(item.meterName) &&
          match.units[item.unitOfMeasure] !== undefined &&
          item.retailPrice > 0,
      )
      .sort((a, b) => (a.tierMinimumUnits ?? 0) - (b.tierMinimumUnits ?? 0));
    const chosen = candidates[0];
    const perUnit = chosen ? match.units[chosen.unitOfMeasure] : undefined;
    if (!chosen || perUnit === undefined) unmatched.push(key);
    else prices[key] = chosen.retailPrice * perUnit;
  }
  return { prices, unmatched };
}

const retailPageSchema = z.object({
  Items: z.array(z.unknown()),
  NextPageLink: z.string().nullable().optional(),
});

/**
 * Fetches the region's consumption prices of the services above from the public Azure Retail Prices API
 * (no credentials), following `NextPageLink`, at most `maxPages` pages per service.
 */
export async function fetchRetailPriceItems(
  region: string,
  fetchImpl: typeof fetch = fetch,
  maxPages = 20,
): Promise<RetailPriceItem[]> {
  const services = [...new Set(Object.values(retailMeters).map((match) => match.serviceName))];
  const items: RetailPriceItem[] = [];
  for (const service of services) {
    const filter = `serviceName eq '${service}' and armRegionName eq '${region}' and priceType eq 'Consumption'`;
    let next: string | null | undefined =
      `https://prices.azure.com/api/retail/prices?currencyCode='USD'&$filter=${encodeURIComponent(filter)}`;
    for (let page = 0; next && page < maxPages; page++) {
      const response = await fetchImpl(next, { signal: AbortSignal.timeout(15_000) });
      if (!response.ok) throw new Error(`The Retail Prices API answered ${response.status} for ${service}.`);
      const body = retailPageSchema.parse(await response.json());
      for (const item of body.Items) {
        const parsed = retailPriceItemSchema.safeParse(item);
        if (parsed.success) items.push(parsed.data);
      }
      next = body.NextPageLink;
    }
  }
  return items;
}
