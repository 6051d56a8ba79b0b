import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.deleteWebhook, uses('webhooks'), ({ webhooks }) => async ({ params, principal }) => {
  await webhooks.delete(principal, params.webhookId);
  return { status: 204 };
});
