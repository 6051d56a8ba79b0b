import { z } from 'zod';
import { DocumentExistsError, platformPartition, type CosmosStore } from '../adapters/cosmos-store';
import { AppError } from '../errors';
import { defaultPlans, planSchema, type Plan } from './plan';

const planDocumentSchema = planSchema.omit({ id: true }).extend({
  id: z.string(),
  tenantId: z.literal(platformPartition),
  type: z.literal('plan'),
  planId: planSchema.shape.id,
  /** Set while the plan is being retired: no tenant may move onto it. */
  retiring: z.boolean().optional(),
});
type PlanDocument = z.infer<typeof planDocumentSchema>;

const toDocument = (plan: Plan): PlanDocument => ({
  id: `plan:${plan.id}`,
  tenantId: platformPartition,
  type: 'plan',
  planId: plan.id,
  name: plan.name,
  limits: plan.limits,
});
const fromDocument = (document: PlanDocument): Plan => ({
  id: document.planId,
  name: document.name,
  limits: document.limits,
});

/** Plans live in the `tenants` container under the platform partition. */
export class PlanRepository {
  constructor(private readonly store: CosmosStore) {}

  /** Creates the default plans that do not exist yet; never overwrites an admin's changes. */
  async seedDefaults(): Promise<void> {
    for (const plan of defaultPlans) {
      try {
        await this.store.create('tenants', toDocument(plan));
      } catch (error: unknown) {
        if (!(error instanceof DocumentExistsError)) throw error;
      }
    }
  }

  async find(planId: string): Promise<Plan | undefined> {
    const found = await this.store.read('tenants', `plan:${planId}`, platformPartition, planDocumentSchema);
    return found && fromDocument(found.document);
  }

  async get(planId: string): Promise<Plan> {
    const plan = await this.find(planId);
    if (!plan) throw new AppError('not_found', `Plan ${planId} does not exist.`);
    return plan;
  }

  async list(): Promise<Plan[]> {
    const plans: Plan[] = [];
    for await (const document of this.store.queryAll(
      'tenants',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'plan' ORDER BY c.planId",
      { tenantId: platformPartition },
      planDocumentSchema,
    )) {
      plans.push(fromDocument(document));
    }
    return plans;
  }

  /** Creates a plan; `conflict` if the id is taken. */
  async create(plan: Plan): Promise<Plan> {
    await this.store.create('tenants', toDocument(plan));
    return plan;
  }

  /** Applies `change` to the plan (optimistic concurrency); `not_found` when there is no such plan. */
  async update(planId: string, change: (plan: Plan) => Plan): Promise<Plan> {
    const updated = await this.store.update(
      'tenants',
      `plan:${planId}`,
      platformPartition,
      planDocumentSchema,
      (document) => ({
        ...toDocument(change(fromDocument(document))),
        ...(document.retiring === undefined ? {} : { retiring: document.retiring }),
      }),
    );
    if (!updated) throw new AppError('not_found', `Plan ${planId} does not exist.`);
    return fromDocument(updated);
  }

  /** True while the plan is being retired (or once it is gone): no tenant may move onto it. */
  async isRetiring(planId: string): Promise<boolean> {
    const found = await this.store.read('tenants', `plan:${planId}`, platformPartition, planDocumentSchema);
    return found === undefined || found.document.retiring === true;
  }

  /** Marks the plan as being retired (`retiring: true`) or clears the mark; `not_found` without the plan. */
  async markRetiring(planId: string, retiring: boolean): Promise<void> {
    const updated = await this.store.update(
      'tenants',
      `plan:${planId}`,
      platformPartition,
      planDocumentSchema,
      (document) => (retiring ? { ...document, retiring } : toDocument(fromDocument(document))),
    );
    if (!updated) throw new AppError('not_found', `Plan ${planId} does not exist.`);
  }

  async delete(planId: string): Promise<void> {
    await this.store.delete('tenants', `plan:${planId}`, platformPartition);
  }
}
