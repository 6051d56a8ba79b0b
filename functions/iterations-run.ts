import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { runAndWait } from '../shared/jobs/run-and-wait';
import { uses } from '../shared/services';

registerRoute(
  routes.runIterations,
  uses('jobs', 'usageService'),
  (services) =>
    ({ body, headers, principal, context, clientGone }) =>
      runAndWait(services, principal, body, context, {
        idempotencyKey: headers['idempotency-key'],
        clientGone,
      }),
);
