import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.health, uses(), () => () => ({ status: 200, body: { status: 'ok' } }));
