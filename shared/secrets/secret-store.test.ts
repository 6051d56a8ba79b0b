import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { createSealedSecretStore, sealingKeySchema } from './secret-store';

const key = randomBytes(32).toString('base64');

describe('sealed secret store', () => {
  it('seals a value into a reference that hides it, and opens it again under the same name', async () => {
    const store = createSealedSecretStore(key);
    const reference = await store.put('openwebui:c1:jwt', 'a-very-secret-value');
    expect(reference).toMatch(/^sealed:v1:/);
    expect(reference).not.toContain('a-very-secret-value');
    expect(reference).not.toBe(await store.put('openwebui:c1:jwt', 'a-very-secret-value'));
    await expect(store.read('openwebui:c1:jwt', reference)).resolves.toBe('a-very-secret-value');
  });

  it('refuses a reference read under another name, tampered with, or sealed under another key', async () => {
    const store = createSealedSecretStore(key);
    const reference = await store.put('openwebui:c1:jwt', 'secret');
    await expect(store.read('openwebui:c2:jwt', reference)).rejects.toBeInstanceOf(AppError);
    const flipped = reference.slice(0, -30) + (reference.at(-30) === 'A' ? 'B' : 'A') + reference.slice(-29);
    await expect(store.read('openwebui:c1:jwt', flipped)).rejects.toBeInstanceOf(AppError);
    const other = createSealedSecretStore(randomBytes(32).toString('base64'));
    await expect(other.read('openwebui:c1:jwt', reference)).rejects.toThrow(/cannot be opened/);
    await expect(store.read('openwebui:c1:jwt', 'plain-text')).rejects.toBeInstanceOf(AppError);
  });

  it('accepts only a 32-byte key', () => {
    expect(sealingKeySchema.safeParse(key).success).toBe(true);
    expect(sealingKeySchema.safeParse(randomBytes(16).toString('base64')).success).toBe(false);
    expect(() => createSealedSecretStore('short')).toThrow();
  });
});
