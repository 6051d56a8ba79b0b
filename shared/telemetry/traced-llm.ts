import { context, SpanKind, trace } from '@opentelemetry/api';
import { toAppError } from '../errors';
import { wrapGenerate, type LlmPort, type StructuredRequest, type StructuredResponse } from '../llm/port';
import { counters, currentScope, markFailed, scopeAttributes, tracer } from './telemetry';

/**
 * Wraps an LLM port so each call is a client span (child of the activity or request that made it) with the
 * model, token counts and cost, and feeds the per-tenant, per-model call, token and cost metrics. Only
 * counts, ids and the model name are recorded: never the prompt, the story or the output.
 */
export function tracedLlm(llm: LlmPort): LlmPort {
  return wrapGenerate(llm, async <T>(request: StructuredRequest<T>): Promise<StructuredResponse<T>> => {
    const scope = currentScope();
    const span = tracer().startSpan(`llm ${request.model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        ...scopeAttributes(scope),
        'llm.provider': llm.provider,
        'llm.model': request.model,
        'llm.purpose': request.purpose.kind,
        'iteration.id': request.purpose.iterationId,
        'llm.attempt': request.purpose.attempt,
      },
    });
    const labels = (model: string) => ({
      ...(scope?.tenantId ? { 'tenant.id': scope.tenantId } : {}),
      'llm.model': model,
    });
    try {
      const response = await context.with(trace.setSpan(context.active(), span), () => llm.generate(request));
      const { usage } = response;
      span.setAttributes({
        'llm.model': response.model,
        'llm.tokens.input': usage.inputTokens,
        'llm.tokens.output': usage.outputTokens,
        'llm.tokens.cache_read': usage.cacheReadInputTokens,
        'llm.tokens.cache_write': usage.cacheCreationInputTokens,
        'cost.micro_usd': response.costMicroUsd,
      });
      const meters = counters();
      meters.llmCalls.add(1, { ...labels(response.model), outcome: 'success' });
      for (const [type, count] of [
        ['input', usage.inputTokens],
        ['output', usage.outputTokens],
        ['cache_read', usage.cacheReadInputTokens],
        ['cache_write', usage.cacheCreationInputTokens],
      ] as const) {
        if (count > 0) meters.llmTokens.add(count, { ...labels(response.model), 'token.type': type });
      }
      meters.llmCost.add(response.costMicroUsd, labels(response.model));
      return response;
    } catch (error: unknown) {
      const code = toAppError(error).code;
      markFailed(span, code);
      counters().llmCalls.add(1, { ...labels(request.model), outcome: code });
      throw error;
    } finally {
      span.end();
    }
  });
}
