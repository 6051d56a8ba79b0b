import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * AES-256-GCM sealing of secrets the service must keep in readable form (webhook signing secrets, OpenWebUI
 * connection secrets), so a copy of the database alone does not reveal them. `associatedData` binds a sealed
 * value to what it belongs to: opened under anything else, it fails.
 */
export const sealedSchema = z.object({
  scheme: z.literal('aes-256-gcm'),
  iv: z.string(),
  tag: z.string(),
  data: z.string(),
});
export type Sealed = z.infer<typeof sealedSchema>;

/** A sealing key setting: 32 random bytes, base64. */
export const sealingKeySchema = z
  .string()
  .refine(
    (text) => Buffer.from(text, 'base64').length === 32,
    '32 random bytes, base64 (openssl rand -base64 32)',
  );

export function seal(plaintext: string, keyBase64: string, associatedData?: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(keyBase64, 'base64'), iv);
  if (associatedData !== undefined) cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    scheme: 'aes-256-gcm',
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

/** The plaintext of a sealed value; throws when the key, the associated data or the value does not match. */
export function unseal(sealed: Sealed, keyBase64: string, associatedData?: string): string {
  const decipher = createDecipheriv(
    'aes-256-gcm',
    Buffer.from(keyBase64, 'base64'),
    Buffer.from(sealed.iv, 'base64'),
  );
  if (associatedData !== undefined) decipher.setAAD(Buffer.from(associatedData, 'utf8'));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString(
    'utf8',
  );
}
