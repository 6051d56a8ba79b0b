import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { FetchLike } from '../auth/jwt-verifier';
import type { JobRef } from '../jobs/orchestration-contract';
import type { Logger } from '../logger';
import type { JobEventFeeds, Subscriber } from '../progress/event-stream';
import type { SequencedEvent } from '../progress/progress-event';
import { ChatStatusNarrator, type ChatStatus } from './chat-status';
import type { ChatEventTarget } from './connection-service';

/** The chat and message a tool call belongs to, as OpenWebUI forwards them. */
export interface ChatMessageRef {
  chatId: string;
  messageId: string;
}

const chatIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);

/**
 * The chat and message ids of a request (`X-OpenWebUI-Chat-Id`, `X-OpenWebUI-Message-Id`), or undefined when
 * either is missing or malformed: progress is a courtesy, so a bad id turns it off rather than fail the call.
 * They stay out of the routes' documented headers on purpose: OpenWebUI turns documented parameters into tool
 * arguments for the model to fill in, while these ids come from OpenWebUI itself.
 */
export function chatMessageOf(headers: { get(name: string): string | null }): ChatMessageRef | undefined {
  const chatId = chatIdSchema.safeParse(headers.get('x-openwebui-chat-id'));
  const messageId = chatIdSchema.safeParse(headers.get('x-openwebui-message-id'));
  return chatId.success && messageId.success ? { chatId: chatId.data, messageId: messageId.data } : undefined;
}

export interface ChatProgressOptions {
  /** The job event feeds of this instance: the relay is one more reader of the job's shared poll loop. */
  feeds: JobEventFeeds;
  ref: JobRef;
  target: ChatEventTarget;
  message: ChatMessageRef;
  logger: Logger;
  fetch?: FetchLike;
  /** Deadline of one POST (default 5000 ms). */
  timeoutMs?: number;
  /** Tries per status line, the first included (default 3); only network failures, 429 and 5xx are retried. */
  attempts?: number;
  /** Wait before the first retry, doubled for each next one (default 250 ms). */
  retryDelayMs?: number;
  /** After this many lines in a row could not be delivered, the relay stops posting (default 3). */
  maxFailuresInARow?: number;
  /** How long `finish` waits for the last lines to go out (default 5000 ms). */
  drainMs?: number;
}

/** A running relay; `finish` ends it within `drainMs` and never throws. */
export interface ChatProgressRelay {
  /**
   * `finished`: the job is done, deliver the lines up to its terminal event. `still_running`: the call
   * answers before the job ends, so stop following and say so in the chat.
   */
  finish(outcome: 'finished' | 'still_running'): Promise<void>;
}

/**
 * Posts a job's progress into the OpenWebUI chat message that asked for it, as `status` events to
 * `{baseUrl}/api/v1/chats/{chat}/messages/{message}/event`, in order. Best effort: a slow or failing
 * OpenWebUI never fails or delays the job, retries are bounded, and logs carry the connection id and the
 * status code, never the key or the URL.
 */
export function relayJobProgressToChat(options: ChatProgressOptions): ChatProgressRelay {
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const attempts = options.attempts ?? 3;
  const maxFailuresInARow = options.maxFailuresInARow ?? 3;
  const url = `${options.target.baseUrl}/api/v1/chats/${encodeURIComponent(options.message.chatId)}/messages/${encodeURIComponent(options.message.messageId)}/event`;
  const hardStop = new AbortController();
  const narrator = new ChatStatusNarrator();
  let failuresInARow = 0;
  let givenUp = false;
  let lastDone = false;

  const warn = (details: Record<string, unknown>, message: string) =>
    options.logger.warn(
      { connectionId: options.target.connectionId, jobId: options.ref.jobId, ...details },
      message,
    );

  /** One POST; true when delivered, false when it failed in a way worth retrying, 'refused' otherwise. */
  async function attempt(status: ChatStatus): Promise<true | false | 'refused'> {
    try {
      const response = await fetchImpl(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.target.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'status', data: status }),
        signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs ?? 5000), hardStop.signal]),
        redirect: 'manual',
      });
      await response.body?.cancel();
      if (response.ok) return true;
      if (response.status === 429 || response.status >= 500) {
        warn({ status: response.status }, 'OpenWebUI did not take a chat status; retrying');
        return false;
      }
      warn(
        { status: response.status },
        'OpenWebUI refused chat status events; no more are sent for this call',
      );
      return 'refused';
    } catch (error: unknown) {
      warn({ error: error instanceof Error ? error.name : 'unknown' }, 'chat status not delivered; retrying');
      return false;
    }
  }

  async function post(status: ChatStatus): Promise<void> {
    if (givenUp) return;
    for (let tried = 1; tried <= attempts && !hardStop.signal.aborted; tried++) {
      const outcome = await attempt(status);
      if (outcome === true) {
        failuresInARow = 0;
        lastDone = status.done;
        return;
      }
      if (outcome === 'refused') {
        givenUp = true;
        return;
      }
      if (tried < attempts) {
        await sleep((options.retryDelayMs ?? 250) * 2 ** (tried - 1), undefined, {
          signal: hardStop.signal,
        }).catch(() => undefined);
      }
    }
    failuresInARow += 1;
    if (failuresInARow >= maxFailuresInARow) {
      givenUp = true;
      warn({ failuresInARow }, 'OpenWebUI keeps failing; no more chat status events for this call');
    }
  }

  // The job's events arrive from its feed as they are logged; the relay posts them one at a time, in order.
  const queue: SequencedEvent[] = [];
  let feedEnded = false;
  let wake: (() => void) | undefined;
  const reader: Subscriber = {
    last: 0,
    follow: true,
    deliver(events) {
      queue.push(...events);
      reader.last = events.at(-1)?.seq ?? reader.last;
      wake?.();
    },
    end() {
      feedEnded = true;
      wake?.();
    },
  };
  const unsubscribe = options.feeds.subscribe(options.ref, reader);
  const stopFollowing = () => {
    feedEnded = true;
    unsubscribe();
    wake?.();
  };

  const relaying = (async () => {
    while (!givenUp && !hardStop.signal.aborted) {
      const event = queue.shift();
      if (event === undefined) {
        if (feedEnded) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const status = narrator.describe(event);
      if (status) await post(status);
    }
    stopFollowing();
  })();

  return {
    async finish(outcome) {
      const drain = setTimeout(() => {
        hardStop.abort();
        stopFollowing();
      }, options.drainMs ?? 5000);
      if (outcome === 'still_running') stopFollowing();
      await relaying;
      if (outcome === 'still_running' && !givenUp && !hardStop.signal.aborted && !lastDone) {
        await post({ description: `Still running in the background (job ${options.ref.jobId})`, done: true });
      }
      clearTimeout(drain);
    },
  };
}
