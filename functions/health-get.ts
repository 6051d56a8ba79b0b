import '../shared/app-setup';
import { app, type HttpResponseInit } from '@azure/functions';

/** Liveness: answers as long as the worker runs, without touching any dependency. */
export function healthGet(): HttpResponseInit {
  return { status: 200, jsonBody: { status: 'ok' } };
}

app.http('health-get', { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: healthGet });
