import { platformPartition } from '../adapters/cosmos-store';
import type { AppError } from '../errors';
import type { RequestContext } from '../http/request-context';
import type { AuditTrail } from './audit-trail';
import type { SecuritySignals } from './security-signals';

/**
 * Audits refused requests worth investigating: repeated authentication failures from one source (in the
 * platform's chain: no tenant is known) and rate-limit refusals (in the caller's tenant). The request is
 * refused either way, so a record that cannot be written is only logged by the trail.
 */
export async function auditRefusal(
  dependencies: { audit: AuditTrail; signals: SecuritySignals },
  error: AppError,
  request: RequestContext,
  operationId: string,
): Promise<void> {
  const { audit, signals } = dependencies;
  if (error.code === 'unauthenticated') {
    const source = request.sourceIp ?? 'unknown';
    const failures = signals.authFailure(source);
    if (failures === undefined) return;
    const reason = error.details?.reason;
    await audit.record({
      tenantId: platformPartition,
      action: 'auth.repeated_failures',
      outcome: 'denied',
      target: { type: 'source', id: source },
      details: { failures, lastReason: typeof reason === 'string' ? reason : null },
    });
    return;
  }
  const principal = request.principal;
  if (error.status !== 429 || !principal) return;
  if (!signals.rateLimited(`${principal.tenantId}\n${principal.userId}`, error.code)) return;
  await audit.record({
    tenantId: principal.tenantId,
    action: 'request.rate_limited',
    outcome: 'denied',
    target: { type: 'operation', id: operationId },
    details: { code: error.code, retryAfterSeconds: error.retryAfterSeconds ?? null },
  });
}
