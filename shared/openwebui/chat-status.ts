import { z } from 'zod';

/** One `status` line under an OpenWebUI chat message; `done` stops its shimmer. */
export interface ChatStatus {
  description: string;
  done: boolean;
}

const jobEvent = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape);
const iterationStart = jobEvent({ iteration: z.string(), index: z.number().int(), total: z.number().int() });
const iterationComplete = jobEvent({ iteration: z.string() });
const start = jobEvent({ total: z.number().int() });
const reviewStart = jobEvent({ round: z.number().int().optional() });
const reviewComplete = jobEvent({ verdict: z.string().optional() });
const mockup = jobEvent({ fileName: z.string() });
const approval = jobEvent({ iteration: z.string() });
const complete = jobEvent({ costUsd: z.number() });
const failed = jobEvent({ code: z.string() });

const round = (value: number | undefined) => (value !== undefined && value > 1 ? ` (round ${value})` : '');

/**
 * Turns a job's progress events into chat status lines, e.g. "Iteration 3 of 11: security", "Reviewing the
 * whole story", "Done: $0.04". Events it does not know (or whose data it cannot read) and streamed text give no
 * line, so new engine events never break the relay. Keeps the count of finished iterations across calls.
 */
export class ChatStatusNarrator {
  private total = 0;
  private finished = 0;

  describe(event: { event: string; data: unknown }): ChatStatus | undefined {
    const line = (description: string, done = false): ChatStatus => ({ description, done });
    switch (event.event) {
      case 'start': {
        const data = start.safeParse(event.data);
        if (!data.success) return undefined;
        this.total = data.data.total;
        return line(`Starting ${data.data.total} iteration${data.data.total === 1 ? '' : 's'}`);
      }
      case 'iteration:start': {
        const data = iterationStart.safeParse(event.data);
        if (!data.success) return undefined;
        this.total = data.data.total;
        return line(`Iteration ${data.data.index + 1} of ${data.data.total}: ${data.data.iteration}`);
      }
      case 'iteration:complete': {
        const data = iterationComplete.safeParse(event.data);
        if (!data.success) return undefined;
        this.finished += 1;
        const of = this.total > 0 ? ` (${this.finished} of ${this.total} done)` : '';
        return line(`Finished ${data.data.iteration}${of}`);
      }
      case 'review:start': {
        const data = reviewStart.safeParse(event.data);
        return data.success ? line(`Reviewing the whole story${round(data.data.round)}`) : undefined;
      }
      case 'review:complete': {
        const data = reviewComplete.safeParse(event.data);
        if (!data.success) return undefined;
        return line(data.data.verdict === undefined ? 'Review finished' : `Review: ${data.data.verdict}`);
      }
      case 'mockup:analyzing': {
        const data = mockup.safeParse(event.data);
        return data.success ? line(`Analysing mockup ${data.data.fileName}`) : undefined;
      }
      case 'awaiting_approval': {
        const data = approval.safeParse(event.data);
        return data.success ? line(`Waiting for approval of ${data.data.iteration}`, true) : undefined;
      }
      case 'complete': {
        const data = complete.safeParse(event.data);
        return data.success ? line(`Done: $${data.data.costUsd.toFixed(2)}`, true) : line('Done', true);
      }
      case 'cancelled':
        return line('Cancelled', true);
      case 'error': {
        const data = failed.safeParse(event.data);
        return line(data.success ? `Failed: ${data.data.code}` : 'Failed', true);
      }
      default:
        return undefined;
    }
  }
}
