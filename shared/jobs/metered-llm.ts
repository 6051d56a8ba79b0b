import type { LlmPort } from '../llm/port';
import { quotaLlm, type QuotaContext } from '../quotas/quota-llm';
import type { QuotaService } from '../quotas/quota-service';
import type { JobDocument } from './job';
import { recordingLlm, type UsageRepository } from './usage-records';

/**
 * The LLM as a job's activities use it: every answered call priced and recorded against the job, and, when
 * the job was admitted under quotas, tokens and budget reserved before each call (waiting, with `onWait`
 * told, while calls in flight hold what it needs) and settled after it.
 */
export function meteredLlm(
  job: JobDocument,
  options: {
    llm: LlmPort;
    usage: UsageRepository;
    quotas?: QuotaService;
    now: () => Date;
    onWait?: QuotaContext['onWait'];
  },
): LlmPort {
  const context = { tenantId: job.tenantId, userId: job.userId, jobId: job.id, now: options.now };
  const recorded = recordingLlm(options.llm, options.usage, context);
  return options.quotas && job.limits
    ? quotaLlm(recorded, options.quotas, {
        ...context,
        limits: job.limits,
        ...(options.onWait ? { onWait: options.onWait } : {}),
      })
    : recorded;
}
