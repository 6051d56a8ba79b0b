import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors';

/**
 * Where secrets that tenants hand the service (OpenWebUI connection secrets) are kept. `put` returns a
 * reference that is stored in place of the secret; only `read` turns it back into the value. In Azure this
 * port belongs on Key Vault (the reference a secret URI); locally, and until that adapter exists, the secret
 * is sealed with AES-256-GCM under `CONNECTION_SECRETS_KEY` and the reference is the ciphertext itself.
 */
export interface SecretStore {
  /** Stores `value` under `name` (unique per secret) and returns the reference to keep. */
  put(name: string, value: string): Promise<string>;
  /** The value behind a reference `put` returned for the same `name`. */
  read(name: string, reference: string): Promise<string>;
  /** Forgets the secret; harmless when it is already gone. */
  remove(name: string, reference: string): Promise<void>;
}

/** `CONNECTION_SECRETS_KEY`: 32 random bytes, base64. */
export const sealingKeySchema = z
  .string()
  .refine(
    (text) => Buffer.from(text, 'base64').length === 32,
    '32 random bytes, base64 (openssl rand -base64 32)',
  );

const sealedPattern = /^sealed:v1:([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]*):([A-Za-z0-9_-]{22})$/;

/**
 * A {@link SecretStore} that keeps nothing itself: the reference is `sealed:v1:<iv>:<ciphertext>:<tag>`,
 * AES-256-GCM with the secret's name as associated data, so a reference copied onto another connection (or
 * tampered with) does not open.
 */
export function createSealedSecretStore(keyBase64: string): SecretStore {
  const key = Buffer.from(keyBase64, 'base64');
  if (key.length !== 32) throw new Error('The sealing key must be 32 bytes.');
  return {
    put(name, value) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(name, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
      const parts = [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString('base64url'));
      return Promise.resolve(`sealed:v1:${parts.join(':')}`);
    },
    read(name, reference) {
      const match = sealedPattern.exec(reference);
      if (!match) return Promise.reject(unreadable(name));
      const [iv, ciphertext, tag] = match.slice(1).map((part) => Buffer.from(part, 'base64url'));
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv ?? Buffer.alloc(0));
        decipher.setAAD(Buffer.from(name, 'utf8'));
        decipher.setAuthTag(tag ?? Buffer.alloc(0));
        const plain = Buffer.concat([decipher.update(ciphertext ?? Buffer.alloc(0)), decipher.final()]);
        return Promise.resolve(plain.toString('utf8'));
      } catch (error: unknown) {
        return Promise.reject(unreadable(name, error));
      }
    },
    remove: () => Promise.resolve(),
  };
}

/** A stored secret that does not open: the key changed, or the stored reference was altered. */
function unreadable(name: string, cause?: unknown): AppError {
  return new AppError(
    'internal',
    `Stored secret ${name} cannot be opened (was CONNECTION_SECRETS_KEY changed?).`,
    {
      cause,
    },
  );
}
