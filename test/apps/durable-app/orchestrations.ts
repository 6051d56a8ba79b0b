import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { z } from 'zod';
import { double, echo, fail, flaky, slowStep, stamp } from './activities';

/** Doubles its input three times in sequence. */
export const chain = df.app.orchestration('chain', function* (context: OrchestrationContext) {
  let value = z.number().parse(context.df.getInput());
  const seen: number[] = [];
  for (let i = 0; i < 3; i++) {
    value = z.number().parse(yield double(value));
    seen.push(value);
  }
  return seen;
});

df.app.orchestration('fanOut', function* (context: OrchestrationContext) {
  const count = z.number().int().parse(context.df.getInput());
  const results = z
    .array(z.number())
    .parse(yield context.df.Task.all(Array.from({ length: count }, (_, i) => double(i))));
  return results.reduce((sum, n) => sum + n, 0);
});

df.app.orchestration('timer', function* (context: OrchestrationContext) {
  const ms = z.number().int().parse(context.df.getInput());
  const startedAt = context.df.currentUtcDateTime.getTime();
  yield context.df.createTimer(new Date(startedAt + ms));
  return { waitedMs: context.df.currentUtcDateTime.getTime() - startedAt };
});

/** Waits for an `approval` event, or gives up after `timeoutMs`. */
df.app.orchestration('approvalOrTimeout', function* (context: OrchestrationContext) {
  const { timeoutMs } = z.object({ timeoutMs: z.number().int() }).parse(context.df.getInput());
  const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + timeoutMs));
  const approval = context.df.waitForExternalEvent('approval');
  const winner: unknown = yield context.df.Task.any([approval, timer]);
  if (winner === approval) {
    timer.cancel();
    return { outcome: 'approved', by: approval.result };
  }
  return { outcome: 'timedOut' };
});

df.app.orchestration('retrying', function* (context: OrchestrationContext) {
  const options = new df.RetryOptions(200, 4);
  options.backoffCoefficient = 2;
  const attempt: unknown = yield flaky(
    z.object({ run: z.string(), failures: z.number() }).parse(context.df.getInput()),
  ).withRetry(options);
  return attempt;
});

df.app.orchestration('failing', function* (context: OrchestrationContext) {
  yield fail(z.string().parse(context.df.getInput()));
  return 'unreachable';
});

/** Publishes its stage as custom status, then waits for `go`. */
df.app.orchestration('waiter', function* (context: OrchestrationContext) {
  context.df.setCustomStatus({ stage: 'waiting', since: context.df.currentUtcDateTime.toISOString() });
  const go: unknown = yield context.df.waitForExternalEvent('go');
  context.df.setCustomStatus({ stage: 'done' });
  return { go };
});

const slowChainInput = z.object({ run: z.string(), steps: z.number().int(), ms: z.number().int() });

/** `steps` slow activities in sequence; returns their keys. */
df.app.orchestration('slowChain', function* (context: OrchestrationContext) {
  const { run, steps, ms } = slowChainInput.parse(context.df.getInput());
  const keys: string[] = [];
  for (let i = 0; i < steps; i++) {
    keys.push(z.string().parse(yield slowStep({ run, key: `${context.df.instanceId}:${i}`, ms })));
  }
  return keys;
});

df.app.orchestration('parent', function* (context: OrchestrationContext) {
  const fromChild: unknown = yield chain(z.number().parse(context.df.getInput()));
  return { fromChild };
});

/** Counts to 3 through continue-as-new. */
const countUp: OrchestrationHandler = function* (context: OrchestrationContext) {
  const n = z.number().int().parse(context.df.getInput());
  yield double(n);
  if (n < 3) {
    context.df.continueAsNew(n + 1);
    return undefined;
  }
  return n;
};
df.app.orchestration('countUp', countUp);

/** `count` activities in sequence, each reporting its own start and end, for the overhead benchmark. */
df.app.orchestration('stampChain', function* (context: OrchestrationContext) {
  const count = z.number().int().parse(context.df.getInput());
  const stamps: unknown[] = [];
  for (let i = 0; i < count; i++) stamps.push(yield stamp());
  return stamps;
});

df.app.orchestration('stampFanOut', function* (context: OrchestrationContext) {
  const count = z.number().int().parse(context.df.getInput());
  const stamps: unknown = yield context.df.Task.all(Array.from({ length: count }, () => stamp()));
  return stamps;
});

/** A retried activity among plain ones: retry timers and new attempts take task ids while others complete. */
df.app.orchestration('retryInFanOut', function* (context: OrchestrationContext) {
  const input = z.object({ run: z.string(), failures: z.number() }).parse(context.df.getInput());
  const options = new df.RetryOptions(100, 3);
  const results: unknown = yield context.df.Task.all([flaky(input).withRetry(options), double(5), double(6)]);
  const after: unknown = yield double(7);
  return { results, after };
});

/** Passes a large text through an activity and returns it, with its input echoed in custom status. */
df.app.orchestration('bigPayload', function* (context: OrchestrationContext) {
  const { size } = z.object({ size: z.number().int() }).parse(context.df.getInput());
  const text = z.string().parse(yield echo('x'.repeat(size)));
  context.df.setCustomStatus({ length: text.length });
  return text;
});

/** `count` slow activities at once. */
df.app.orchestration('slowFanOut', function* (context: OrchestrationContext) {
  const { run, count, ms } = z
    .object({ run: z.string(), count: z.number().int(), ms: z.number().int() })
    .parse(context.df.getInput());
  const keys: unknown = yield context.df.Task.all(
    Array.from({ length: count }, (_, i) => slowStep({ run, key: `${context.df.instanceId}:${i}`, ms })),
  );
  return keys;
});
