import '../shared/app-setup';
import { app } from '@azure/functions';
import { referenceAssets } from '../shared/api/reference-page';

app.http('docs-assets-get', {
  route: 'docs/assets/{file}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: (request) => referenceAssets.respond(request),
});
