import '../shared/app-setup';
import { app } from '@azure/functions';
import { progressPageAssets } from '../shared/web/progress-page';

app.http('app-assets-get', {
  route: 'app/assets/{file}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: (request) => progressPageAssets.respond(request),
});
