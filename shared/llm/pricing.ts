import { z } from 'zod';
import { AppError } from '../errors';
import type { TokenUsage } from './port';
import { pricingTable } from './pricing-table';

/**
 * Prices LLM calls in integer micro-dollars (1 USD = 1,000,000 µUSD).
 *
 * Arithmetic: a rate of R USD per million tokens is R µUSD per token. Rates are parsed from decimal strings
 * into integer pico-dollars per token (R × 10^6, exact for up to six decimals), every usage field is
 * multiplied and summed as a BigInt, and the exact total is rounded **once per call** to the nearest
 * micro-dollar, halves rounded up. Summing rounded per-call costs over a job therefore drifts by at most
 * 0.5 µUSD per call, and no fractional cost ever disappears inside a single call.
 */

const PICO_PER_MICRO = 1_000_000n;

const decimalRate = z
  .string()
  .regex(/^\d+(\.\d{1,6})?$/, 'a non-negative decimal with at most six decimals (USD per million tokens)')
  .transform((text) => {
    const [whole = '0', fraction = ''] = text.split('.');
    return BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, '0'));
  });

const ratesSchema = z.object({
  input: decimalRate,
  output: decimalRate,
  cacheWrite5m: decimalRate,
  cacheWrite1h: decimalRate,
  cacheRead: decimalRate,
});

const rowSchema = z.object({
  model: z.string().min(1),
  /** UTC date from which the row applies; absent means "since before any usage we record". */
  effectiveFrom: z.iso
    .date()
    .transform((day) => Date.parse(`${day}T00:00:00Z`))
    .optional(),
  rates: ratesSchema,
  /** Above `thresholdTokens` prompt tokens (input + cache reads + cache writes), every token of the call bills at these rates. */
  longPrompt: z.object({ thresholdTokens: z.number().int().positive(), rates: ratesSchema }).optional(),
});

/** Rates in integer pico-dollars per token. */
export type TokenRates = z.infer<typeof ratesSchema>;
export type PricingRow = z.infer<typeof rowSchema>;

const tableSchema = z.array(rowSchema).superRefine((rows, ctx) => {
  const seen = new Set<string>();
  for (const row of rows) {
    const key = `${row.model}@${row.effectiveFrom ?? 'always'}`;
    if (seen.has(key)) ctx.addIssue({ code: 'custom', message: `duplicate pricing row ${key}` });
    seen.add(key);
  }
});

/** A validated pricing table: rows grouped by model, newest first. */
export type PricingTable = ReadonlyMap<string, readonly PricingRow[]>;

/** Validates raw pricing configuration (the shape of `pricing-table.ts`); throws `AppError('internal')` listing every problem. */
export function loadPricingTable(data: unknown): PricingTable {
  const parsed = tableSchema.safeParse(data);
  if (!parsed.success) {
    throw new AppError('internal', `Invalid pricing table: ${z.prettifyError(parsed.error)}`);
  }
  const byModel = new Map<string, PricingRow[]>();
  for (const row of parsed.data) {
    const rows = byModel.get(row.model) ?? [];
    rows.push(row);
    byModel.set(row.model, rows);
  }
  for (const rows of byModel.values()) {
    rows.sort((a, b) => (b.effectiveFrom ?? -Infinity) - (a.effectiveFrom ?? -Infinity));
  }
  return byModel;
}

/** The built-in table from `pricing-table.ts`, validated once when this module loads. */
export const defaultPricingTable: PricingTable = loadPricingTable(pricingTable);

const usageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheCreationInputTokens: z.number().int().nonnegative(),
  cacheReadInputTokens: z.number().int().nonnegative(),
  cacheCreation5mInputTokens: z.number().int().nonnegative().optional(),
  cacheCreation1hInputTokens: z.number().int().nonnegative().optional(),
});

/**
 * The pricing row in force for `model` at `at`. A dated snapshot id (`claude-x-y-20261001`) falls back to
 * its undated id when the table has no exact row. Throws `AppError('internal')` when nothing matches: an
 * unpriced model must stop the bill, never be billed at $0.
 */
export function pricingRowAt(model: string, at: Date, table: PricingTable = defaultPricingTable): PricingRow {
  const rows = table.get(model) ?? table.get(model.replace(/-\d{8}$/, ''));
  if (!rows) {
    throw new AppError(
      'internal',
      `No price is configured for model "${model}"; refusing to bill it as free.`,
      {
        details: { model },
      },
    );
  }
  const time = at.getTime();
  const row = rows.find((candidate) => (candidate.effectiveFrom ?? -Infinity) <= time);
  if (!row) {
    throw new AppError('internal', `No price for model "${model}" is in force at ${at.toISOString()}.`, {
      details: { model, at: at.toISOString() },
    });
  }
  return row;
}

/**
 * Cost of one call in integer micro-dollars, priced with the row in force at `at` (when the call was made).
 * Cache writes use the 5m/1h split when the provider reported one; otherwise all cache creation is billed
 * at the 5-minute rate (the default TTL). Throws `AppError('internal')` for an unknown model or for usage
 * that is not a set of non-negative integers with a consistent cache split.
 */
export function costMicroUsd(
  model: string,
  usage: TokenUsage,
  at: Date,
  table: PricingTable = defaultPricingTable,
): number {
  const row = pricingRowAt(model, at, table);
  const parsed = usageSchema.safeParse(usage);
  if (!parsed.success) {
    throw new AppError(
      'internal',
      `Invalid token usage for model "${model}": ${z.prettifyError(parsed.error)}`,
    );
  }
  const counts = parsed.data;
  const oneHour = counts.cacheCreation1hInputTokens ?? 0;
  const fiveMinutes = counts.cacheCreation5mInputTokens ?? counts.cacheCreationInputTokens - oneHour;
  if (fiveMinutes < 0 || fiveMinutes + oneHour !== counts.cacheCreationInputTokens) {
    throw new AppError('internal', `Cache write split does not add up for model "${model}".`, {
      details: { model, usage: counts },
    });
  }

  const promptTokens = counts.inputTokens + counts.cacheReadInputTokens + counts.cacheCreationInputTokens;
  const rates =
    row.longPrompt && promptTokens > row.longPrompt.thresholdTokens ? row.longPrompt.rates : row.rates;

  const pico =
    BigInt(counts.inputTokens) * rates.input +
    BigInt(counts.outputTokens) * rates.output +
    BigInt(fiveMinutes) * rates.cacheWrite5m +
    BigInt(oneHour) * rates.cacheWrite1h +
    BigInt(counts.cacheReadInputTokens) * rates.cacheRead;
  const micro = (pico + PICO_PER_MICRO / 2n) / PICO_PER_MICRO;
  if (micro > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new AppError('internal', `Cost of a call to "${model}" exceeds the representable range.`);
  }
  return Number(micro);
}

/** Micro-dollars to dollars for display and for the contract's `costUsd` fields; keep sums in micro-dollars. */
export function microUsdToUsd(microUsd: number): number {
  return microUsd / 1_000_000;
}
