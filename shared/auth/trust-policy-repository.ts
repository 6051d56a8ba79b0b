import { z } from 'zod';
import { platformPartition, type CosmosStore } from '../adapters/cosmos-store';
import { trustPolicySchema, type TrustPolicy } from './trust-policies';

const documentSchema = trustPolicySchema.extend({
  id: z.string(),
  tenantId: z.literal(platformPartition),
  type: z.literal('trustPolicy'),
  policyId: z.string(),
  targetTenantId: trustPolicySchema.shape.tenantId,
});
type TrustPolicyDocument = z.infer<typeof documentSchema>;

const documentId = (policyId: string) => `trust-policy:${policyId}`;

const toDocument = (policy: TrustPolicy): TrustPolicyDocument => ({
  ...policy,
  id: documentId(policy.id),
  tenantId: platformPartition,
  type: 'trustPolicy',
  policyId: policy.id,
  targetTenantId: policy.tenantId,
});

const fromDocument = ({
  id: _id,
  type: _type,
  policyId,
  targetTenantId,
  ...rest
}: TrustPolicyDocument): TrustPolicy => ({ ...rest, id: policyId, tenantId: targetTenantId });

/** Trust policies live in the `tenants` container under the platform partition: they belong to no tenant. */
export class TrustPolicyRepository {
  constructor(private readonly store: CosmosStore) {}

  async create(policy: TrustPolicy): Promise<void> {
    await this.store.create('tenants', toDocument(policy));
  }

  async list(): Promise<TrustPolicy[]> {
    const policies: TrustPolicy[] = [];
    for await (const document of this.store.queryAll(
      'tenants',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'trustPolicy' ORDER BY c.createdAt",
      { tenantId: platformPartition },
      documentSchema,
    )) {
      policies.push(fromDocument(document));
    }
    return policies;
  }

  async find(policyId: string): Promise<TrustPolicy | undefined> {
    const found = await this.store.read('tenants', documentId(policyId), platformPartition, documentSchema);
    return found && fromDocument(found.document);
  }

  async delete(policyId: string): Promise<void> {
    await this.store.delete('tenants', documentId(policyId), platformPartition);
  }
}
