import { AppError } from '../errors';
import {
  UnusableAnswerError,
  wrapGenerate,
  type CallPurpose,
  type LlmPort,
  type PricedAnswer,
  type StructuredRequest,
  type StructuredResponse,
} from '../llm/port';
import type { PlanLimits } from '../plans/plan';
import { usageRecordId } from '../jobs/usage-records';
import { costCeiling, estimatePromptTokens, historyKey, totalTokens } from './call-estimates';
import type { CallDemand, CallUsage, QuotaOwner, QuotaService, QuotaWait } from './quota-service';

export interface QuotaContext extends QuotaOwner {
  jobId: string;
  /** The plan's limits as read when the job was admitted. */
  limits: PlanLimits;
  now?: () => Date;
  /**
   * Hears a call (by its purpose) start waiting for calls in flight to settle (with the reason), and
   * `undefined` once it stops waiting (it was sent, refused or cancelled). Progress reporting only: a failure
   * here is not the call's.
   */
  onWait?: (purpose: CallPurpose, wait: QuotaWait | undefined) => void;
}

/** What one request asks of the quotas. */
export function callDemand(request: StructuredRequest<unknown>, callId: string, at: Date): CallDemand {
  const promptTokens = estimatePromptTokens(request);
  return {
    callId,
    kind: historyKey(request),
    promptTokens,
    maxOutputTokens: request.maxTokens,
    costCeiling: costCeiling(request.model, promptTokens, at),
  };
}

/** What a billed answer settles: its tokens, the cost its adapter priced, and its output for the estimates. */
function usedBy(answer: PricedAnswer, kind: string): CallUsage {
  return {
    tokens: totalTokens(answer.usage),
    microUsd: answer.costMicroUsd,
    output: { key: kind, tokens: answer.usage.outputTokens },
  };
}

/**
 * Wraps an LLM port so that each call first reserves what it can use at most against the user's tokens (per
 * day) and the tenant's budget (per month), and afterwards settles the reservation to the provider's reported
 * usage (zero for a call that failed unanswered or was cancelled). A call that does not fit only because of
 * calls in flight waits for them (see `QuotaService.reserveWhenFree`), and may be sent with a lower
 * `max_tokens` so that it fits; one whose estimate does not fit beside settled usage is refused with
 * `quota_exceeded` or `budget_exceeded` before anything is sent. Put it outside `recordingLlm`, so a call is
 * recorded before it is settled.
 */
export function quotaLlm(llm: LlmPort, quotas: QuotaService, context: QuotaContext): LlmPort {
  const now = context.now ?? (() => new Date());
  return wrapGenerate(llm, async <T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> => {
    const at = now();
    const callId = usageRecordId(
      context.jobId,
      request.purpose.iterationId,
      request.purpose.kind,
      request.purpose.attempt,
    );
    const demand = callDemand(request, callId, at);
    let waited = false;
    let maxOutputTokens: number;
    let loweredBy: 'budget' | 'tokens' | undefined;
    try {
      ({ maxOutputTokens, loweredBy } = await quotas.reserveWhenFree(context, context.limits, demand, {
        ...(request.signal ? { signal: request.signal } : {}),
        onWait: (wait) => {
          waited = true;
          context.onWait?.(request.purpose, wait);
        },
      }));
    } finally {
      if (waited) context.onWait?.(request.purpose, undefined);
    }
    let response: StructuredResponse<T>;
    try {
      response = await llm.generate({ ...request, maxTokens: maxOutputTokens });
    } catch (error: unknown) {
      if (!(error instanceof UnusableAnswerError)) {
        await quotas.settle(context, callId, { tokens: 0, microUsd: 0 });
        throw error;
      }
      await quotas.settle(context, callId, usedBy(error, demand.kind));
      if (!loweredBy) throw error;
      const lowered = `It was sent with max_tokens ${maxOutputTokens}, lowered from ${request.maxTokens} to fit what is left of the plan's ${loweredBy === 'budget' ? 'monthly budget' : 'tokens per day'}.`;
      // Cut off at a cap the limit set, the answer failed for want of quota: only more of it can help.
      const cutByLimit = error.details?.stopReason === 'max_tokens';
      throw new AppError(
        cutByLimit ? (loweredBy === 'budget' ? 'budget_exceeded' : 'quota_exceeded') : error.code,
        `${error.message} ${lowered}`,
        { cause: error, ...(error.details ? { details: error.details } : {}) },
      );
    }
    await quotas.settle(context, callId, usedBy(response, demand.kind));
    return response;
  });
}
