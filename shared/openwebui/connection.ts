import { z } from 'zod';
import { scopeListSchema } from '../auth/scopes';
import { connectionIdSchema } from '../ids';

/** Where OpenWebUI is, as the service reaches it: http(s), no credentials, query or fragment. */
const baseUrlSchema = z
  .url({ protocol: /^https?$/ })
  .max(2000)
  .refine((text) => {
    const url = new URL(text);
    return url.username === '' && url.password === '' && url.search === '' && url.hash === '';
  }, 'an http(s) URL without credentials, query or fragment')
  .transform((text) => text.replace(/\/+$/, ''));

export const createConnectionBodySchema = z
  .object({
    name: z.string().trim().min(1).max(100).describe('A label, e.g. the OpenWebUI instance it serves.'),
    userJwtSecret: z
      .string()
      .min(32)
      .max(512)
      .describe(
        'OpenWebUI’s FORWARD_USER_INFO_HEADER_JWT_SECRET (at least 32 characters): verifies X-OpenWebUI-User-Jwt. Stored encrypted, never returned.',
      ),
    baseUrl: baseUrlSchema
      .optional()
      .describe('OpenWebUI’s URL as this service reaches it, to post progress into chats (with apiKey).'),
    apiKey: z
      .string()
      .min(1)
      .max(1000)
      .optional()
      .describe(
        'An OpenWebUI API key allowed to post chat events (an admin or service account). Never returned.',
      ),
    scopes: scopeListSchema
      .optional()
      .describe(
        'What the connection’s key may do: jobs:write, jobs:read, usage:read, uploads:write; default all.',
      ),
  })
  .refine((body) => (body.baseUrl === undefined) === (body.apiKey === undefined), {
    message: 'give baseUrl and apiKey together (both are needed to post progress), or neither',
    path: ['apiKey'],
  });
export type CreateConnectionBody = z.infer<typeof createConnectionBodySchema>;

/** A stored connection: its secrets only as references into the secret store. */
export const connectionDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('openwebuiConnection'),
  connectionId: connectionIdSchema,
  name: z.string(),
  baseUrl: z.string().optional(),
  scopes: scopeListSchema,
  /** The connection's API key (`usa_`), whose record says which connection it is. */
  keyId: z.string(),
  createdAt: z.iso.datetime({ offset: true }),
  createdBy: z.string(),
  userJwtSecretRef: z.string(),
  apiKeyRef: z.string().optional(),
});
export type ConnectionDocument = z.infer<typeof connectionDocumentSchema>;

/** A connection as admins see it: never a secret, only whether progress can be posted. */
export const connectionViewSchema = z.object({
  id: connectionIdSchema,
  tenantId: z.string(),
  name: z.string(),
  baseUrl: z.string().optional(),
  scopes: scopeListSchema,
  keyId: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  postsProgress: z.boolean().describe('True when baseUrl and an OpenWebUI API key are set.'),
});
export type ConnectionView = z.infer<typeof connectionViewSchema>;

export const createdConnectionSchema = connectionViewSchema.extend({
  apiKey: z
    .string()
    .describe(
      'The connection’s key (usa_...): OpenWebUI’s tool-server bearer key. Shown once, stored only as a hash.',
    ),
});

export function toConnectionView(document: ConnectionDocument): ConnectionView {
  return {
    id: document.connectionId,
    tenantId: document.tenantId,
    name: document.name,
    ...(document.baseUrl === undefined ? {} : { baseUrl: document.baseUrl }),
    scopes: document.scopes,
    keyId: document.keyId,
    createdAt: document.createdAt,
    createdBy: document.createdBy,
    postsProgress: document.baseUrl !== undefined && document.apiKeyRef !== undefined,
  };
}

/** The user id of the connection itself, and of one chat user behind it (namespaced by the connection). */
export const connectionUserId = (connectionId: string) => `openwebui:${connectionId}`;
export const chatUserId = (connectionId: string, sub: string) => `openwebui:${connectionId}:${sub}`;
