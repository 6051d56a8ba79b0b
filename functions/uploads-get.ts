import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.getUpload, async ({ params, principal, services }) => {
  const { uploadService } = await services();
  return { status: 200, body: await uploadService.get(principal, params.uploadId) };
});
