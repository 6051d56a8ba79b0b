import { z } from 'zod';
import { tenantIdSchema } from '../ids';

/** The placeholder an Entra multi-tenant issuer URL carries where each token names its own tenant. */
export const TENANT_PLACEHOLDER = '{tenantid}';

/** A claim name, or a dotted path into nested claims (Keycloak's `realm_access.roles`). */
const claimPathSchema = z
  .string()
  .regex(
    /^[A-Za-z_][\w:-]*(\.[A-Za-z_][\w:-]*)*$/,
    'a claim name or a dotted path such as realm_access.roles',
  );

/**
 * How an issuer's groups name tenants: every group starting with `prefix` names the tenant after it
 * (`/tenants/acme` with prefix `/tenants/` is tenant `acme`), or an explicit `map` from group to tenant.
 */
export const tenantFromGroupsSchema = z.union([
  z.strictObject({ prefix: z.string().min(1).max(200) }),
  z.strictObject({
    map: z
      .record(z.string().min(1).max(400), tenantIdSchema)
      .refine((map) => Object.keys(map).length > 0, 'must map at least one group'),
  }),
]);
export type TenantFromGroups = z.infer<typeof tenantFromGroupsSchema>;

/** One trusted token issuer, as listed in `AUTH_ISSUERS`. */
export const issuerConfigSchema = z
  .strictObject({
    /**
     * Compared exactly with the token's `iss`; may contain `{tenantid}` once (Entra multi-tenant apps), which
     * then matches only the tenants in `allowedTenants` and must equal the token's tenant claim.
     */
    issuer: z.string().min(1),
    /** The token's `aud` must contain it. */
    audience: z.string().min(1),
    /** Where the signing keys are; when absent, read from the issuer's OpenID discovery document. */
    jwksUri: z.url({ protocol: /^https?$/ }).optional(),
    /** The claim naming the user's tenant; default `tid`, else `tenant_id`. */
    tenantClaim: claimPathSchema.optional(),
    /** The claim listing the user's groups (default `groups`); used with `tenantFromGroups`. */
    groupsClaim: claimPathSchema.optional(),
    /** Take the tenant from the user's groups instead of a tenant claim ("one group = one tenant"). */
    tenantFromGroups: tenantFromGroupsSchema.optional(),
    /** The claim listing the user's roles; default `roles` and `role`. */
    rolesClaim: claimPathSchema.optional(),
    /** With a `{tenantid}` issuer: the tenants whose tokens are accepted. */
    allowedTenants: z.array(tenantIdSchema).min(1).optional(),
  })
  .superRefine((config, context) => {
    const placeholders = config.issuer.split(TENANT_PLACEHOLDER).length - 1;
    if (placeholders > 1) {
      context.addIssue({
        code: 'custom',
        path: ['issuer'],
        message: `may contain ${TENANT_PLACEHOLDER} once`,
      });
    }
    if (placeholders === 1 && config.allowedTenants === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['allowedTenants'],
        message: `is required with a ${TENANT_PLACEHOLDER} issuer: list the tenants whose tokens are accepted`,
      });
    }
    if (placeholders === 0 && config.allowedTenants !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['allowedTenants'],
        message: `applies only to an issuer with ${TENANT_PLACEHOLDER}`,
      });
    }
    if (config.tenantFromGroups !== undefined && (config.tenantClaim !== undefined || placeholders === 1)) {
      context.addIssue({
        code: 'custom',
        path: ['tenantFromGroups'],
        message: `cannot be combined with tenantClaim or a ${TENANT_PLACEHOLDER} issuer: the tenant comes from one place`,
      });
    }
    if (config.groupsClaim !== undefined && config.tenantFromGroups === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['groupsClaim'],
        message: 'is only read with tenantFromGroups',
      });
    }
  });

export type IssuerConfig = z.infer<typeof issuerConfigSchema>;

/** The audience the local development issuer's tokens carry and the service accepts from it. */
export const DEV_ISSUER_AUDIENCE = 'user-story-agent';

/**
 * The issuers the service trusts: `AUTH_ISSUERS`, plus the local development issuer when
 * `AUTH_DEV_ISSUER_URL` is set (config refuses that in production).
 */
export function trustedIssuers(config: {
  AUTH_ISSUERS: IssuerConfig[];
  AUTH_DEV_ISSUER_URL?: string | undefined;
}): IssuerConfig[] {
  if (config.AUTH_DEV_ISSUER_URL === undefined) return config.AUTH_ISSUERS;
  // The dev issuer's `iss` never ends in a slash; a configured trailing slash must not break exact matching.
  const devIssuer = config.AUTH_DEV_ISSUER_URL.replace(/\/+$/, '');
  return [...config.AUTH_ISSUERS, { issuer: devIssuer, audience: DEV_ISSUER_AUDIENCE }];
}

/** An issuer config matched to a token's `iss`, with the tenant its `{tenantid}` stood for, if any. */
export interface MatchedIssuer {
  config: IssuerConfig;
  /** The concrete issuer (the token's `iss`). */
  issuer: string;
  /** What `{tenantid}` matched, lower-cased. */
  issuerTenant?: string;
}

const templateTenant = '([A-Za-z0-9._-]{1,100})';
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The tenant a `{tenantid}` issuer template gives `iss`, or undefined when `iss` does not fit it. */
export function tenantInIssuer(template: string, iss: string): string | undefined {
  const [before = '', after = ''] = template.split(TENANT_PLACEHOLDER);
  const match = new RegExp(`^${escapeRegExp(before)}${templateTenant}${escapeRegExp(after)}$`).exec(iss);
  return match?.[1]?.toLowerCase();
}

/**
 * The configs whose issuer is `iss`: exact ones, and templates whose `{tenantid}` matches an allowed tenant.
 * `notAllowed` is true when only a template matched, for a tenant outside its `allowedTenants`.
 */
export function matchIssuer(
  configs: readonly IssuerConfig[],
  iss: string,
): { matches: MatchedIssuer[]; notAllowed: boolean } {
  const matches: MatchedIssuer[] = [];
  let notAllowed = false;
  for (const config of configs) {
    if (!config.issuer.includes(TENANT_PLACEHOLDER)) {
      if (config.issuer === iss) matches.push({ config, issuer: iss });
      continue;
    }
    const tenant = tenantInIssuer(config.issuer, iss);
    if (tenant === undefined) continue;
    if (config.allowedTenants?.some((allowed) => allowed.toLowerCase() === tenant)) {
      matches.push({ config, issuer: iss, issuerTenant: tenant });
    } else {
      notAllowed = true;
    }
  }
  return { matches, notAllowed: matches.length === 0 && notAllowed };
}
