import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.streamJob, async ({ params, query, headers, principal, services }) => {
  const follow = query.follow === 'true';
  const lastEventId = headers['last-event-id'] ?? 0;
  const body = await (await services()).progress.stream(principal, params.jobId, lastEventId, follow);
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
});
