import { app } from '@azure/functions';
import { getConfig } from './config';
import { watchClientDisconnects } from './http/client-disconnect';
import { traceInvocations } from './telemetry/invocation-tracing';
import { startTelemetry, stopTelemetry } from './telemetry/telemetry';

// Fail fast: an invalid setting stops the app from loading, with every bad key listed, instead of 500s later.
getConfig();

// HTTP streaming must be enabled before the first registration: SSE progress streams and large exports rely on it.
app.setup({ enableHttpStream: true });
watchClientDisconnects();

// Application Insights when configured: started before the first invocation, flushed when the app stops.
app.hook.appStart(async () => {
  await startTelemetry(getConfig());
});
app.hook.appTerminate(() => stopTelemetry());
traceInvocations();
