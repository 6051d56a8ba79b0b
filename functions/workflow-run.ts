import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { runAndWait } from '../shared/jobs/run-and-wait';

registerRoute(routes.runWorkflow, async ({ body, principal, request, context, services, clientGone }) =>
  runAndWait(await services(), principal, { ...body, mode: 'workflow' }, context, {
    idempotencyKey: request.headers.get('idempotency-key') ?? undefined,
    clientGone,
  }),
);
