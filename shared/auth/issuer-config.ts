import { z } from 'zod';

/** One trusted token issuer, as listed in `AUTH_ISSUERS`. */
export const issuerConfigSchema = z.strictObject({
  /** Compared exactly with the token's `iss`. */
  issuer: z.string().min(1),
  /** The token's `aud` must contain it. */
  audience: z.string().min(1),
  /** Where the signing keys are; when absent, read from the issuer's OpenID discovery document. */
  jwksUri: z.url({ protocol: /^https?$/ }).optional(),
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
