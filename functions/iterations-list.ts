import { routes } from '../shared/api/routes';
import { applicableIterations, iterationCatalog } from '../shared/engine/catalog';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.listIterations, uses(), () => ({ query }) => {
  const definitions = query.productType ? applicableIterations(query.productType) : iterationCatalog;
  return {
    status: 200,
    body: {
      items: definitions.map(({ id, name, category, description, sections, productTypes }) => ({
        id,
        name,
        category,
        description,
        sections,
        productTypes,
      })),
    },
  };
});
