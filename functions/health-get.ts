import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.health, () => ({ status: 200, body: { status: 'ok' } }));
