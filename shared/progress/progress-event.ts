import { z } from 'zod';
import { iterationIdSchema } from '../engine/catalog';
import { usageSchema } from '../engine/iteration-result';
import { reviewVerdicts } from '../engine/review';
import { systemPassIdSchema } from '../engine/system-analysis';
import { quotaWaitReasonSchema } from '../jobs/job';

/**
 * The progress events of the API contract ("Progress events"). The same payloads go to SSE clients and to the
 * job's Web PubSub group; `seq` is the per-job sequence number (SSE `id:`) a reconnecting client resumes from.
 */
export const progressEventSchema = z.discriminatedUnion('event', [
  z.object({
    event: z.literal('start'),
    data: z.object({ jobId: z.string(), iterations: z.array(iterationIdSchema), total: z.number().int() }),
  }),
  z.object({
    event: z.literal('iteration:start'),
    data: z.object({
      jobId: z.string(),
      iteration: iterationIdSchema,
      index: z.number().int().nonnegative(),
      total: z.number().int(),
    }),
  }),
  z.object({
    event: z.literal('iteration:progress'),
    data: z.object({ jobId: z.string(), iteration: iterationIdSchema, chunk: z.string() }),
  }),
  z.object({
    event: z.literal('iteration:waiting'),
    data: z.object({
      jobId: z.string(),
      iteration: iterationIdSchema,
      reason: quotaWaitReasonSchema,
      message: z.string(),
    }),
  }),
  z.object({
    event: z.literal('iteration:complete'),
    data: z.object({
      jobId: z.string(),
      iteration: iterationIdSchema,
      usage: usageSchema,
      durationMs: z.number().int().nonnegative(),
    }),
  }),
  z.object({
    event: z.enum(['mockup:analyzing', 'mockup:complete']),
    data: z.object({ jobId: z.string(), uploadId: z.string(), fileName: z.string() }),
  }),
  z.object({
    event: z.literal('review:start'),
    data: z.object({ jobId: z.string(), round: z.number().int().positive() }),
  }),
  z.object({
    event: z.literal('review:complete'),
    data: z.object({
      jobId: z.string(),
      round: z.number().int().positive(),
      verdict: z.enum(reviewVerdicts),
      overall: z.number(),
    }),
  }),
  z.object({
    event: z.enum(['system:pass:start', 'system:pass:complete']),
    data: z.object({
      jobId: z.string(),
      pass: systemPassIdSchema,
      status: z.enum(['applied', 'failed']).optional(),
    }),
  }),
  z.object({
    event: z.enum(['story:start', 'story:complete']),
    data: z.object({
      jobId: z.string(),
      storyId: z.string().describe('S1, S2, ... in backlog order.'),
      storyJobId: z.string().describe('The job refining this story.'),
      index: z.number().int().nonnegative(),
      total: z.number().int(),
      status: z.enum(['completed', 'failed', 'cancelled']).optional(),
    }),
  }),
  z.object({
    event: z.literal('awaiting_approval'),
    data: z.object({ jobId: z.string(), iteration: iterationIdSchema, story: z.string() }),
  }),
  z.object({
    event: z.literal('complete'),
    data: z.object({ jobId: z.string(), story: z.string(), usage: usageSchema, costUsd: z.number() }),
  }),
  z.object({ event: z.literal('cancelled'), data: z.object({ jobId: z.string() }) }),
  z.object({
    event: z.literal('error'),
    data: z.object({ jobId: z.string(), code: z.string(), message: z.string(), retryable: z.boolean() }),
  }),
]);
export type ProgressEvent = z.infer<typeof progressEventSchema>;
export type ProgressEventName = ProgressEvent['event'];

/** An event as stored and delivered: its payload plus the job's sequence number and when it was written. */
export const sequencedEventSchema = z.intersection(
  progressEventSchema,
  z.object({ seq: z.number().int().positive(), at: z.iso.datetime() }),
);
export type SequencedEvent = z.infer<typeof sequencedEventSchema>;

/** Events after which a job emits nothing more: streams end on them. */
export const terminalEvents: ReadonlySet<ProgressEventName> = new Set(['complete', 'cancelled', 'error']);

/** The Web PubSub group of a job; negotiated client tokens may join this group only. */
export function jobGroup(jobId: string): string {
  return `job-${jobId}`;
}

/** One event as an SSE frame (`id`, `event`, one `data` line of JSON). */
export function toSseFrame(event: SequencedEvent): string {
  return `id: ${event.seq}\nevent: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}
