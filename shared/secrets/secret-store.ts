import { AppError } from '../errors';
import { seal, sealedSchema, sealingKeySchema, unseal } from './sealing';

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

/**
 * A {@link SecretStore} that keeps nothing itself: the reference is the sealed secret (AES-256-GCM under
 * `CONNECTION_SECRETS_KEY`) with the secret's name as associated data, so a reference copied onto another
 * connection, or tampered with, does not open.
 */
export function createSealedSecretStore(keyBase64: string): SecretStore {
  if (!sealingKeySchema.safeParse(keyBase64).success) throw new Error('The sealing key must be 32 bytes.');
  return {
    put: (name, value) => Promise.resolve(JSON.stringify(seal(value, keyBase64, name))),
    read(name, reference) {
      try {
        return Promise.resolve(unseal(sealedSchema.parse(JSON.parse(reference)), keyBase64, name));
      } catch (error: unknown) {
        return Promise.reject(unreadable(name, error));
      }
    },
    remove: () => Promise.resolve(),
  };
}

/** A stored secret that does not open: the key changed, or the stored reference was altered. */
function unreadable(name: string, cause: unknown): AppError {
  return new AppError(
    'internal',
    `Stored secret ${name} cannot be opened (was CONNECTION_SECRETS_KEY changed?).`,
    { cause },
  );
}
