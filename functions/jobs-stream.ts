import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.streamJob,
  uses('progress'),
  ({ progress }) =>
    async ({ params, query, headers, principal }) => {
      const follow = query.follow === 'true';
      const lastEventId = headers['last-event-id'] ?? 0;
      const body = await progress.stream(principal, params.jobId, lastEventId, follow);
      return {
        status: 200,
        raw: {
          status: 200,
          headers: {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            'x-accel-buffering': 'no',
          },
          body,
        },
      };
    },
);
