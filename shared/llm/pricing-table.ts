/**
 * Model prices as configuration data (USD per million tokens, decimal strings so they parse exactly).
 * Source: Anthropic's published model pricing, checked 2026-11-22. A price change is a new row with a later
 * `effectiveFrom`, never an edit of an old one: past usage keeps the price it was billed at.
 * `pricing.ts` validates this table when it is loaded, so a typo fails at start-up, not on a bill.
 */
export const pricingTable = [
  {
    model: 'claude-sonnet-5-5',
    effectiveFrom: '2026-09-28',
    rates: { input: '2.00', cacheWrite5m: '2.50', cacheWrite1h: '4.00', cacheRead: '0.20', output: '10.00' },
  },
  {
    model: 'claude-sonnet-5-5',
    effectiveFrom: '2026-10-07',
    rates: { input: '2.00', cacheWrite5m: '2.50', cacheWrite1h: '4.00', cacheRead: '0.10', output: '10.00' },
  },
  {
    model: 'claude-haiku-5-5',
    effectiveFrom: '2026-10-07',
    rates: { input: '0.10', cacheWrite5m: '0.125', cacheWrite1h: '0.20', cacheRead: '0.01', output: '0.50' },
    longPrompt: {
      thresholdTokens: 100_000,
      rates: {
        input: '0.50',
        cacheWrite5m: '0.625',
        cacheWrite1h: '1.00',
        cacheRead: '0.05',
        output: '2.50',
      },
    },
  },
  {
    model: 'claude-opus-5-5',
    rates: { input: '4.00', cacheWrite5m: '5.00', cacheWrite1h: '8.00', cacheRead: '0.20', output: '20.00' },
  },
  {
    model: 'claude-sonnet-5',
    rates: { input: '2.00', cacheWrite5m: '2.50', cacheWrite1h: '4.00', cacheRead: '0.20', output: '10.00' },
  },
  ...['claude-opus-5', 'claude-opus-4-5', 'claude-opus-4-6', 'claude-opus-4-7', 'claude-opus-4-8'].map(
    (model) => ({
      model,
      rates: {
        input: '5.00',
        cacheWrite5m: '6.25',
        cacheWrite1h: '10.00',
        cacheRead: '0.50',
        output: '25.00',
      },
    }),
  ),
  {
    // End of life 2026-11-30: kept so usage recorded before then can still be priced; never a default.
    model: 'claude-sonnet-4-5',
    rates: { input: '3.00', cacheWrite5m: '3.75', cacheWrite1h: '6.00', cacheRead: '0.30', output: '15.00' },
  },
  {
    model: 'claude-haiku-4-5',
    rates: { input: '1.00', cacheWrite5m: '1.25', cacheWrite1h: '2.00', cacheRead: '0.10', output: '5.00' },
  },
  {
    // The offline engine costs nothing; listed explicitly so that "free" is a decision, not an unknown model.
    model: 'user-story-agent-offline-1',
    rates: { input: '0', cacheWrite5m: '0', cacheWrite1h: '0', cacheRead: '0', output: '0' },
  },
];
