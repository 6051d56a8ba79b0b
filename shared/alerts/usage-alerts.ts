import { platformPartition } from '../adapters/cosmos-store';
import { administeredTenant } from '../admin/admin-service';
import { requirePlatformAdmin } from '../auth/principal';
import type { AuditActor } from '../audit/audit-record';
import type { AuditTrail } from '../audit/audit-trail';
import { isPlatformAdmin, type Principal } from '../auth/principal';
import { AppError, toAppError } from '../errors';
import type { UsageRepository } from '../jobs/usage-records';
import type { Logger } from '../logger';
import { trackEvent } from '../telemetry/telemetry';
import type { TenantRepository } from '../tenants/tenant-repository';
import type { DeliveryStarter, WebhookService } from '../webhooks/webhook-service';
import type { AlertRepository } from './alert-repository';
import {
  anomalyMetrics,
  defaultAnomalyRule,
  findAnomalies,
  severityOf,
  type AnomalyRule,
  type MetricFinding,
} from './anomaly-detector';
import {
  hourMs,
  isHourStart,
  lastFullHour,
  toUsageAlertView,
  usageAlertId,
  type AlertsQuery,
  type ScanBody,
  type ScanResult,
  type UsageAlertDocument,
  type UsageAlertView,
} from './usage-alert';

/** How many earlier days' same hour make the baseline. */
export const baselineDays = 14;
const dayMs = 24 * hourMs;
/** An alert claimed longer ago than this and still not raised was left by a scan that stopped; take it over. */
const claimLeaseMs = 5 * 60_000;
const scanActor: AuditActor = { type: 'system', id: 'alerts-scan' };

export interface UsageAlertsOptions {
  alerts: AlertRepository;
  usage: Pick<UsageRepository, 'windowTotals'>;
  tenants: Pick<TenantRepository, 'listIds'>;
  audit: AuditTrail;
  webhooks: Pick<WebhookService, 'publish'>;
  logger: Logger;
  rule?: AnomalyRule;
  /** The scan's clock: which hour is "the last full hour". */
  now?: () => Date;
}

/**
 * Usage anomaly alerts: each hour, every tenant's last full hour (LLM calls, tokens, cost) is compared with the
 * same hour on the 14 days before (`anomaly-detector.ts`). An anomaly becomes an alert (`GET
 * /api/v1/admin/alerts`), an audit record, a `usage.anomaly` webhook event and an Application Insights custom
 * event, once: the alert's id derives from tenant, hour and metric, and only the scan that creates it carries
 * out the rest.
 */
export class UsageAlerts {
  private readonly now: () => Date;
  private readonly rule: AnomalyRule;

  constructor(private readonly options: UsageAlertsOptions) {
    this.now = options.now ?? (() => new Date());
    this.rule = options.rule ?? defaultAnomalyRule;
  }

  /** The timer's scan: the last full hour, every tenant. */
  scanLastHour(starter: DeliveryStarter): Promise<ScanResult> {
    return this.scanHour(lastFullHour(this.now()), starter);
  }

  /**
   * `POST /api/v1/admin/alerts/scan`: scans an hour that has ended again (the timer missed it, say during an
   * outage). Alerts already raised are reported, not raised again.
   */
  async scanRequested(principal: Principal, body: ScanBody, starter: DeliveryStarter): Promise<ScanResult> {
    requirePlatformAdmin(principal);
    const hour = new Date(body.hour);
    if (!isHourStart(hour)) {
      throw new AppError(
        'validation_failed',
        'body.hour: must be the start of an hour (minutes and seconds 0).',
      );
    }
    if (hour.getTime() + hourMs > this.now().getTime()) {
      throw new AppError('validation_failed', 'body.hour: that hour has not ended yet.');
    }
    return this.options.audit.recorded(
      {
        tenantId: platformPartition,
        action: 'alerts.scan_requested',
        target: { type: 'hour', id: hour.toISOString() },
        details: { tenantId: body.tenantId ?? null },
      },
      () => this.scanHour(hour, starter, body.tenantId),
    );
  }

  /**
   * Scans one hour for every tenant (or just `onlyTenantId`). A tenant whose scan fails does not stop the
   * others; the first failure is thrown at the end, so the run is reported failed and can be repeated.
   */
  async scanHour(hour: Date, starter: DeliveryStarter, onlyTenantId?: string): Promise<ScanResult> {
    const tenantIds = onlyTenantId === undefined ? this.options.tenants.listIds() : [onlyTenantId];
    const anomalies: UsageAlertView[] = [];
    let tenantsScanned = 0;
    let raised = 0;
    let firstFailure: unknown;
    for await (const tenantId of tenantIds) {
      tenantsScanned++;
      try {
        for (const outcome of await this.scanTenant(tenantId, hour, starter)) {
          anomalies.push(toUsageAlertView(outcome.alert));
          if (outcome.raised) raised++;
        }
      } catch (error: unknown) {
        firstFailure ??= error;
        this.options.logger.error(
          { tenantId, hour: hour.toISOString(), code: toAppError(error).code },
          'usage anomaly scan of a tenant failed',
        );
      }
    }
    if (firstFailure !== undefined) throw toAppError(firstFailure);
    return { hour: hour.toISOString(), tenantsScanned, anomalies, raised };
  }

  /** One query for the hour; 14 more (one per baseline day, each summed by Cosmos) only if it could matter. */
  private async scanTenant(tenantId: string, hour: Date, starter: DeliveryStarter) {
    const { usage } = this.options;
    const current = await usage.windowTotals(tenantId, hour, new Date(hour.getTime() + hourMs));
    // At or under every floor an hour is never anomalous, whatever its baseline: most tenants stop here.
    if (anomalyMetrics.every((metric) => current[metric] <= this.rule.floors[metric])) return [];
    const baseline = await Promise.all(
      Array.from({ length: baselineDays }, (_, index) => {
        const from = new Date(hour.getTime() - (index + 1) * dayMs);
        return usage.windowTotals(tenantId, from, new Date(from.getTime() + hourMs));
      }),
    );
    const outcomes: { alert: UsageAlertDocument; raised: boolean }[] = [];
    for (const finding of findAnomalies(current, baseline, this.rule)) {
      outcomes.push(await this.raise(tenantId, hour, finding, starter));
    }
    return outcomes;
  }

  /**
   * Claims the alert, then records, publishes and reports it. The alert is written first because its id is
   * what makes the rest happen once; its audit record follows before anyone is told. A scan that stops
   * half-way leaves the alert claimed but not raised, and the next scan of that hour finishes it.
   */
  private async raise(tenantId: string, hour: Date, finding: MetricFinding, starter: DeliveryStarter) {
    const at = this.now().toISOString();
    const alertId = usageAlertId(tenantId, hour, finding.metric);
    const { document: alert, claimed } = await this.options.alerts.claim(
      {
        id: `alert:${alertId}`,
        tenantId,
        type: 'usageAlert',
        alertId,
        alertTenantId: tenantId,
        metric: finding.metric,
        hour: hour.toISOString(),
        observed: finding.value,
        median: finding.median,
        mad: finding.mad,
        threshold: finding.threshold,
        baselineDays,
        severity: severityOf(finding),
        detectedAt: at,
        claimedAt: at,
      },
      claimLeaseMs,
    );
    if (!claimed) return { alert, raised: false };
    const view = toUsageAlertView(alert);
    await this.options.alerts.addToPlatformFeed(alert);
    const record = await this.options.audit.record({
      tenantId,
      action: 'usage.anomaly_detected',
      target: { type: 'usageAlert', id: alertId },
      actor: scanActor,
      details: {
        metric: view.metric,
        hour: view.hour,
        observed: view.observed,
        median: view.baseline.median,
        threshold: view.threshold,
        severity: view.severity,
      },
    });
    await this.options.webhooks.publish(
      {
        tenantId,
        event: 'usage.anomaly',
        key: `usage.anomaly:${alertId}`,
        data: {
          ...view,
          links: {
            alerts: `/api/v1/admin/alerts?tenantId=${encodeURIComponent(tenantId)}&from=${encodeURIComponent(view.hour)}`,
          },
        },
      },
      starter,
    );
    trackEvent('usage.anomaly', {
      'tenant.id': tenantId,
      'alert.id': alertId,
      'alert.metric': view.metric,
      'alert.hour': view.hour,
      'alert.severity': view.severity,
      'alert.observed': view.observed,
      'alert.threshold': view.threshold,
    });
    await this.options.alerts.markRaised(alert, this.now(), record.seq);
    return { alert, raised: true };
  }

  /**
   * A page of alerts, newest hour first: a tenant's for its admins (default their own), any tenant's or,
   * without `tenantId`, every tenant's for platform admins.
   */
  async list(principal: Principal, query: AlertsQuery) {
    const partition =
      query.tenantId === undefined && isPlatformAdmin(principal)
        ? platformPartition
        : administeredTenant(principal, query.tenantId);
    await this.options.audit.adminRead(principal, partition, { type: 'usageAlerts', id: partition });
    const page = await this.options.alerts.list(partition, query);
    return { items: page.items.map(toUsageAlertView), nextCursor: page.nextCursor };
  }
}
