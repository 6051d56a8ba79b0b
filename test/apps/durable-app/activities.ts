import * as df from 'durable-functions';
import { z } from 'zod';
import { countExecutions, recordExecution } from './executions';

export const double = df.app.activity('double', { handler: (n: unknown) => z.number().parse(n) * 2 });

export const echo = df.app.activity('echo', { handler: (value: unknown) => value });

const slowStepInput = z.object({ run: z.string(), key: z.string(), ms: z.number().int().min(0) });
export type SlowStepInput = z.infer<typeof slowStepInput>;

/** Sleeps, then records that it completed; returns its key. */
export const slowStep = df.app.activity('slowStep', {
  handler: async (input: unknown) => {
    const { run, key, ms } = slowStepInput.parse(input);
    await new Promise((resolve) => setTimeout(resolve, ms));
    await recordExecution(run, key);
    return key;
  },
});

const flakyInput = z.object({ run: z.string(), failures: z.number().int().min(0) });

/** Fails its first `failures` attempts (counted in the executions table), then returns the attempt number. */
export const flaky = df.app.activity('flaky', {
  handler: async (input: unknown) => {
    const { run, failures } = flakyInput.parse(input);
    await recordExecution(run, 'flaky', { At: Date.now() });
    const attempt = await countExecutions(run, 'flaky');
    if (attempt <= failures) throw new Error(`flaky failure ${attempt}`);
    return attempt;
  },
});

export const fail = df.app.activity('fail', {
  handler: (input: unknown) => {
    throw new Error(`boom: ${z.string().parse(input)}`);
  },
});

/** High-resolution start and end times, for the overhead benchmark. */
export const stamp = df.app.activity('stamp', {
  handler: () => {
    const startedAt = performance.timeOrigin + performance.now();
    return { startedAt, endedAt: performance.timeOrigin + performance.now() };
  },
});
