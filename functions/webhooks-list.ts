import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { toWebhookView } from '../shared/webhooks/webhook';

registerRoute(routes.listWebhooks, async ({ principal, services }) => ({
  status: 200,
  body: { items: (await (await services()).webhooks.list(principal)).map(toWebhookView) },
}));
