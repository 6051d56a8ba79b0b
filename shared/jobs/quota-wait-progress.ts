import { iterationIdSchema, type IterationId } from '../engine/catalog';
import type { CallPurpose } from '../llm/port';
import type { ProgressPublisher } from '../progress/progress-publisher';
import type { QuotaWait } from '../quotas/quota-service';
import type { JobDocument } from './job';
import type { JobRepository } from './job-repository';
import type { JobRef } from './orchestration-contract';

/** The job showing `wait` for `iteration` (none: no longer waiting); undefined when nothing changes. */
function withWait(
  job: JobDocument,
  iteration: IterationId,
  wait: QuotaWait | undefined,
  at: Date,
): JobDocument | undefined {
  const shown = job.progress.waiting ?? [];
  if (!wait && !shown.some((entry) => entry.iteration === iteration)) return undefined;
  const others = shown.filter((entry) => entry.iteration !== iteration);
  const waiting = wait ? [...others, { iteration, ...wait, since: at.toISOString() }] : others;
  const { waiting: _previous, ...progress } = job.progress;
  return { ...job, progress: waiting.length > 0 ? { ...progress, waiting } : progress };
}

/**
 * The `onWait` of a job's quota-checked LLM calls (see `quotaLlm`): shows each wait of an iteration's call in
 * the job's `progress.waiting` until it ends, and announces it as an `iteration:waiting` event. A workflow
 * pass's call (consolidation, judge, rewrite, mockup) waits the same way but is not shown: the progress
 * contract names iterations only. Writes happen in the order the waits were reported; a failed write only
 * leaves the display stale.
 */
export function quotaWaitProgress(options: {
  jobs: JobRepository;
  progress?: ProgressPublisher;
  ref: JobRef;
  now: () => Date;
}): (purpose: CallPurpose, wait: QuotaWait | undefined) => void {
  const { jobs, progress, ref, now } = options;
  let writes = Promise.resolve();
  return (purpose, wait) => {
    const shown = iterationIdSchema.safeParse(purpose.iterationId);
    if (!shown.success) return;
    const iteration = shown.data;
    const at = now();
    writes = writes
      .then(async () => {
        await jobs.update(ref.tenantId, ref.jobId, (job) => withWait(job, iteration, wait, at));
        if (wait) {
          await progress?.emit(ref, {
            event: 'iteration:waiting',
            data: { jobId: ref.jobId, iteration, reason: wait.reason, message: wait.message },
          });
        }
      })
      .catch(() => undefined);
  };
}
