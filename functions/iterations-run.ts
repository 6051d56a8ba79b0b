import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { chatMessageOf } from '../shared/openwebui/chat-progress';
import { runAndWait } from '../shared/jobs/run-and-wait';
import { uses } from '../shared/services';

registerRoute(
  routes.runIterations,
  uses('jobs', 'usageService', 'openWebUi', 'progress', 'logger'),
  (services) =>
    ({ body, headers, request, principal, context, clientGone }) =>
      runAndWait(services, principal, body, context, {
        idempotencyKey: headers['idempotency-key'],
        clientGone,
        chat: chatMessageOf(request.headers),
      }),
);
