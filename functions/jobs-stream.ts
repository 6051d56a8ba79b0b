import { routes } from '../shared/api/routes';
import { AppError } from '../shared/errors';
import { registerRoute } from '../shared/http/route';
import { lastEventIdSchema } from '../shared/progress/progress-service';

registerRoute(routes.streamJob, async ({ params, query, principal, request, services }) => {
  const header = request.headers.get('last-event-id');
  const lastEventId = lastEventIdSchema.safeParse(header ?? 0);
  if (!lastEventId.success) throw new AppError('validation_failed', 'Last-Event-ID must be an event id.');
  const follow = query.follow === 'true';
  const body = await (await services()).progress.stream(principal, params.jobId, lastEventId.data, follow);
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
