import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(
  routes.createUpload,
  uses('uploadService'),
  ({ uploadService }) =>
    async ({ body, principal }) => {
      const ticket = await uploadService.create(principal, body);
      return { status: 201, body: ticket, headers: { location: `/api/v1/uploads/${ticket.uploadId}` } };
    },
);
