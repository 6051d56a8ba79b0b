import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.createUpload, async ({ body, principal, services }) => {
  const { uploadService } = await services();
  const ticket = await uploadService.create(principal, body);
  return { status: 201, body: ticket, headers: { location: `/api/v1/uploads/${ticket.uploadId}` } };
});
