import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { getServices } from '../shared/services';
import { durableDeliveries } from '../shared/webhooks/durable-deliveries';

/** Minute 5 of every hour (UTC), so calls that ended just before the hour are recorded before it is scanned. */
const alertsScanSchedule = '0 5 * * * *';

/** The hourly usage anomaly scan of the last full hour, every tenant (`shared/alerts/usage-alerts.ts`). */
app.timer('alerts-scan', {
  schedule: alertsScanSchedule,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer: Timer, context: InvocationContext): Promise<void> => {
    const result = await (await getServices()).alerts.scanLastHour(durableDeliveries(context));
    context.log(
      `usage anomaly scan of ${result.hour}: ${result.tenantsScanned} tenants, ${result.anomalies.length} anomalies, ${result.raised} newly raised`,
    );
  },
});
