import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.deleteWebhook, async ({ params, principal, services }) => {
  await (await services()).webhooks.delete(principal, params.webhookId);
  return { status: 204 };
});
