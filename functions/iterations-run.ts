import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { runAndWait } from '../shared/jobs/run-and-wait';

registerRoute(routes.runIterations, async ({ body, headers, principal, context, services, clientGone }) =>
  runAndWait(await services(), principal, body, context, {
    idempotencyKey: headers['idempotency-key'],
    clientGone,
  }),
);
