import { z } from 'zod';

/**
 * The formats of the ids that clients send back to the service, written down once from how each id is made.
 * A path id that does not fit its format cannot name anything, so the HTTP wrapper answers `404 not_found`
 * without asking a store (a traversal such as `%2e%2e%2f` never reaches Cosmos DB or a blob path).
 *
 * Path parameters registered here are ids (malformed: 404); any other path parameter is a name or a value
 * (malformed: 400 `validation_failed`).
 */
export const pathIds = z.registry<{ resource: string }>();

/** Jobs: `randomUUID()` when the job is created. */
export const jobIdSchema = z
  .uuid()
  .describe('The job id returned when the job was created.')
  .register(pathIds, { resource: 'job' });

/** API keys: 12 random bytes in lowercase hex (`generateApiKey`); hex keeps `_` out of `usa_<keyId>_<secret>`. */
export const apiKeyIdSchema = z
  .string()
  .regex(/^[0-9a-f]{24}$/)
  .describe('The key id (keyId) shown when the key was created and in the key list.')
  .register(pathIds, { resource: 'API key' });

/**
 * Tenants: the `tid` (Entra ID: a GUID) or `tenant_id` claim of the caller's token, which must fit this too.
 * Safe as a Cosmos DB partition key and id and as a blob path segment: no `/`, `\`, `?`, `#`, no leading dot.
 */
export const tenantIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
  .describe('The tenant id (the tid or tenant_id claim of its users’ tokens).')
  .register(pathIds, { resource: 'tenant' });

/**
 * `Idempotency-Key`: chosen by the client (a UUID is usual). Printable ASCII without spaces, at most 200
 * characters; it is hashed before it is stored.
 */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,200}$/, 'printable ASCII without spaces, 1 to 200 characters')
  .describe('Makes a retried request safe: the same key and body give the same job.');

/** Webhook endpoints: `randomUUID()` when the endpoint is registered. */
export const webhookIdSchema = z
  .uuid()
  .describe('The webhook id returned when the endpoint was registered.')
  .register(pathIds, { resource: 'webhook' });

/** Webhook deliveries: 24 base64url characters of a SHA-256 over the endpoint and the event (`webhook-id`). */
export const deliveryIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{24}$/)
  .describe('The delivery id (also its webhook-id header), from the delivery list.')
  .register(pathIds, { resource: 'delivery' });

/** Uploads: `randomUUID()` when the upload URL is issued. */
export const uploadIdSchema = z
  .uuid()
  .describe('The upload id returned by createUpload.')
  .register(pathIds, { resource: 'upload' });

/** OpenWebUI connections: 10 random bytes in lowercase hex when a tenant admin registers one. */
export const connectionIdSchema = z
  .string()
  .regex(/^[0-9a-f]{20}$/)
  .describe('The connection id returned when it was created.')
  .register(pathIds, { resource: 'OpenWebUI connection' });

/** CI trust policies: 10 random bytes in lowercase hex when a platform admin defines one. */
export const trustPolicyIdSchema = z
  .string()
  .regex(/^[0-9a-f]{20}$/)
  .describe('The policy id returned when it was created.')
  .register(pathIds, { resource: 'trust policy' });
