import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.exportUsage, uses('admin'), ({ admin }) => async ({ query, principal }) => {
  const body = await admin.exportUsage(principal, query.month, query.format);
  const contentType = query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson';
  return {
    status: 200,
    raw: {
      status: 200,
      body,
      headers: {
        'content-type': contentType,
        'content-disposition': `attachment; filename="usage-${query.month}.${query.format}"`,
      },
    },
  };
});
