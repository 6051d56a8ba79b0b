import { setTimeout as sleep } from 'node:timers/promises';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { z } from 'zod';
import { RuntimeFailure } from './cli-support';
import { ServiceError, type ServiceClient } from './service-client';

/** How a watched job ended, with its specification when it completed. */
export type WatchOutcome =
  | { status: 'completed'; story: string }
  | { status: 'cancelled' }
  | { status: 'failed'; code: string; message: string };

/** One event of the job's stream, its data parsed from JSON. */
export interface JobEvent {
  event: string;
  data: unknown;
}

export interface WatchOptions {
  client: ServiceClient;
  jobId: string;
  onEvent: (event: JobEvent) => void;
  /** Told when the stream dropped and is being resumed. */
  onResume: (lastEventId: string | undefined) => void;
  /** Reconnections in a row that bring no event before giving up. */
  maxReconnects?: number;
  reconnectDelayMs?: number;
}

const completeData = z.object({ story: z.string() });
const errorData = z.object({ code: z.string(), message: z.string() });
const finishedJob = z.object({
  status: z.string(),
  result: z.object({ story: z.string() }).optional(),
  error: errorData.optional(),
});

function terminalOutcome(event: JobEvent): WatchOutcome | undefined {
  if (event.event === 'complete') return { status: 'completed', story: completeData.parse(event.data).story };
  if (event.event === 'cancelled') return { status: 'cancelled' };
  if (event.event === 'error') return { status: 'failed', ...errorData.parse(event.data) };
  return undefined;
}

/** A job that has ended without its terminal event reaching us (it can be lost): its state says how it ended. */
async function endedJob(client: ServiceClient, jobId: string): Promise<WatchOutcome | undefined> {
  const job = finishedJob.parse(await client.json('GET', `/api/v1/jobs/${encodeURIComponent(jobId)}`));
  if (job.status === 'completed') return { status: 'completed', story: job.result?.story ?? '' };
  if (job.status === 'cancelled') return { status: 'cancelled' };
  if (job.status === 'failed') {
    return {
      status: 'failed',
      code: job.error?.code ?? 'failed',
      message: job.error?.message ?? 'The job failed.',
    };
  }
  return undefined;
}

function parseData(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data;
  }
}

/** Failures worth reconnecting after: the network, the service being busy or unavailable, the stream cap. */
function canResume(error: unknown): boolean {
  if (!(error instanceof ServiceError)) return true;
  return error.status === 0 || error.status === 429 || error.status >= 500;
}

/**
 * Follows a job's SSE stream to its terminal event. When the connection drops (or the service ends a long
 * stream) it reconnects with `Last-Event-ID`, so no event is missed or repeated; a job that ended meanwhile is
 * read from its state.
 */
export async function watchJob(options: WatchOptions): Promise<WatchOutcome> {
  const { client, jobId } = options;
  const maxReconnects = options.maxReconnects ?? 5;
  let lastEventId: string | undefined;
  let fruitless = 0;
  for (;;) {
    let outcome: WatchOutcome | undefined;
    let received = false;
    let delayMs = options.reconnectDelayMs ?? 1_000;
    const parser = createParser({
      onEvent: (message: EventSourceMessage) => {
        if (message.id !== undefined) lastEventId = message.id;
        received = true;
        const event = { event: message.event ?? 'message', data: parseData(message.data) };
        options.onEvent(event);
        outcome ??= terminalOutcome(event);
      },
      onRetry: (interval) => (delayMs = Math.min(interval, 30_000)),
    });
    const abort = new AbortController();
    try {
      const response = await client.stream(jobId, lastEventId, abort.signal);
      if (!response.body) throw new ServiceError(0, 'no_body', 'the event stream has no body', undefined);
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        if (outcome) break;
      }
    } catch (error: unknown) {
      if (!canResume(error)) throw error;
      if (error instanceof ServiceError && error.retryAfterSeconds !== undefined) {
        delayMs = Math.min(error.retryAfterSeconds * 1000, 30_000);
      }
    } finally {
      abort.abort();
    }
    if (outcome) return outcome;
    const ended = await endedJob(client, jobId).catch((error: unknown) => {
      if (canResume(error)) return undefined;
      throw error;
    });
    if (ended) return ended;
    fruitless = received ? 0 : fruitless + 1;
    if (fruitless > maxReconnects) {
      throw new RuntimeFailure(
        `lost the event stream of job ${jobId} (${maxReconnects} reconnections failed)`,
      );
    }
    options.onResume(lastEventId);
    await sleep(delayMs * 2 ** Math.max(0, fruitless - 1));
  }
}

const iterationStart = z.object({ iteration: z.string(), index: z.number(), total: z.number() });
const iterationProgress = z.object({ iteration: z.string(), chunk: z.string() });
const iterationComplete = z.object({ iteration: z.string(), durationMs: z.number() });

/** Expected size of one iteration's answer, so streamed characters can move a bar. */
const expectedAnswerChars = 2_500;

/**
 * Shows a watched job: a bar per iteration on an interactive terminal, one line per step otherwise (logs, CI).
 * Events it does not know (newer services send more) are shown by name.
 */
export function watchReporter(stream: NodeJS.WriteStream = process.stderr): {
  onEvent: (event: JobEvent) => void;
  onResume: (lastEventId: string | undefined) => void;
  stop: () => void;
} {
  const line = (text: string) => stream.write(`${text}\n`);
  const multibar = stream.isTTY
    ? new MultiBar(
        { stream, format: '{iteration} |{bar}| {state}', hideCursor: true, clearOnComplete: false },
        Presets.shades_classic,
      )
    : undefined;
  const log = (text: string) => (multibar ? multibar.log(`${text}\n`) : line(text));
  const bars = new Map<string, { bar: SingleBar | undefined; chars: number }>();
  return {
    onEvent: ({ event, data }) => {
      if (event === 'iteration:start') {
        const start = iterationStart.parse(data);
        const label = `${start.index + 1}/${start.total} ${start.iteration}`;
        bars.set(start.iteration, {
          bar: multibar?.create(100, 0, { iteration: label, state: 'running' }),
          chars: 0,
        });
        if (!multibar) line(`${label}: started`);
      } else if (event === 'iteration:progress') {
        const progress = iterationProgress.parse(data);
        const entry = bars.get(progress.iteration);
        if (!entry) return;
        entry.chars += progress.chunk.length;
        entry.bar?.update(Math.min(95, Math.floor((entry.chars / expectedAnswerChars) * 100)));
      } else if (event === 'iteration:complete') {
        const complete = iterationComplete.parse(data);
        const entry = bars.get(complete.iteration);
        const state = `done (${complete.durationMs} ms)`;
        if (entry?.bar) entry.bar.update(100, { state });
        else line(`${complete.iteration}: ${state}`);
      } else {
        log(event);
      }
    },
    onResume: (lastEventId) => log(`stream interrupted; resuming after event ${lastEventId ?? '(none)'}`),
    stop: () => multibar?.stop(),
  };
}
