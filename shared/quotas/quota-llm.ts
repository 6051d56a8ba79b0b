import type { LlmPort, StructuredRequest, StructuredResponse, TokenUsage } from '../llm/port';
import { costMicroUsd } from '../llm/pricing';
import type { PlanLimits } from '../plans/plan';
import { usageRecordId } from '../jobs/usage-records';
import type { CallReservation, QuotaOwner, QuotaService } from './quota-service';

/**
 * Prompt tokens are estimated from bytes: Claude tokenizers average about 3.5-4 characters a token on
 * English text, so 3 bytes a token overestimates, and the reservation errs on the side of refusing.
 */
const bytesPerTokenEstimate = 3;

/** Tokens and an upper bound of the cost one request can use, before it is sent. */
export function estimateCall(request: StructuredRequest<unknown>, at: Date): Omit<CallReservation, 'callId'> {
  const promptBytes =
    Buffer.byteLength(request.instructions, 'utf8') +
    Buffer.byteLength(request.context, 'utf8') +
    Buffer.byteLength(request.task, 'utf8');
  const promptTokens = Math.ceil(promptBytes / bytesPerTokenEstimate);
  // Every prompt token priced as a 1-hour cache write, the dearest way input can be billed.
  const microUsd = costMicroUsd(
    request.model,
    {
      inputTokens: 0,
      outputTokens: request.maxTokens,
      cacheCreationInputTokens: promptTokens,
      cacheCreation1hInputTokens: promptTokens,
      cacheCreation5mInputTokens: 0,
      cacheReadInputTokens: 0,
    },
    at,
  );
  return { tokens: promptTokens + request.maxTokens, microUsd };
}

/** All tokens a call used, cache reads and writes included: what counts against tokens/day. */
export function totalTokens(usage: TokenUsage): number {
  return usage.inputTokens + usage.outputTokens + usage.cacheCreationInputTokens + usage.cacheReadInputTokens;
}

export interface QuotaContext extends QuotaOwner {
  jobId: string;
  /** The plan's limits as read when the job was admitted. */
  limits: PlanLimits;
  now?: () => Date;
}

/**
 * Wraps an LLM port so that each call first reserves its estimated tokens (user, per day) and cost (tenant,
 * per month), and afterwards settles the reservation to the provider's reported usage; a failed or cancelled
 * call settles to zero. A reservation that does not fit refuses the call with `quota_exceeded` or
 * `budget_exceeded` before anything is sent. Put it outside `recordingLlm`, so a call is recorded before it
 * is settled.
 */
export function quotaLlm(llm: LlmPort, quotas: QuotaService, context: QuotaContext): LlmPort {
  const now = context.now ?? (() => new Date());
  return {
    provider: llm.provider,
    async generate<T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> {
      const at = now();
      const callId = usageRecordId(
        context.jobId,
        request.purpose.iterationId,
        request.purpose.kind,
        request.purpose.attempt,
      );
      await quotas.reserve(context, context.limits, { callId, ...estimateCall(request, at) });
      let response: StructuredResponse<T>;
      try {
        response = await llm.generate(request);
      } catch (error: unknown) {
        await quotas.settle(context, callId, { tokens: 0, microUsd: 0 });
        throw error;
      }
      await quotas.settle(context, callId, {
        tokens: totalTokens(response.usage),
        microUsd: response.costMicroUsd,
      });
      return response;
    },
  };
}
