import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';
import { toWebhookView } from '../shared/webhooks/webhook';

registerRoute(routes.listWebhooks, uses('webhooks'), ({ webhooks }) => async ({ principal }) => ({
  status: 200,
  body: { items: (await webhooks.list(principal)).map(toWebhookView) },
}));
