import { z } from 'zod';
import { AppError } from '../errors';

/**
 * What a credential may do on the user routes. A signed-in user may do everything; API keys, OpenWebUI
 * connections and CI trust policies carry a subset. Admin routes need an admin role, which none of those have.
 */
export const apiScopeSchema = z
  .enum(['jobs:write', 'jobs:read', 'usage:read', 'uploads:write'])
  .describe('jobs:write, jobs:read, usage:read or uploads:write.');
export type ApiScope = z.infer<typeof apiScopeSchema>;

/** Every user scope: what a signed-in user holds, and what a new key gets unless it asks for less. */
export const ALL_USER_SCOPES: readonly ApiScope[] = Object.freeze(apiScopeSchema.options);

/** A list of scopes as stored or requested: at least one, each once. */
export const scopeListSchema = z
  .array(apiScopeSchema)
  .min(1)
  .max(ALL_USER_SCOPES.length)
  .refine((scopes) => new Set(scopes).size === scopes.length, 'names a scope twice');

/** Refuses with 403 `forbidden`, naming the scope, when the caller's credential does not carry it. */
export function requireScope(held: readonly ApiScope[], needed: ApiScope): void {
  if (held.includes(needed)) return;
  throw new AppError('forbidden', `This credential lacks the ${needed} scope.`, {
    details: { reason: 'missing_scope', missingScope: needed },
  });
}
