import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.getUpload,
  uses('uploadService'),
  ({ uploadService }) =>
    async ({ params, principal }) => ({
      status: 200,
      body: await uploadService.get(principal, params.uploadId),
    }),
);
