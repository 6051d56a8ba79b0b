import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { sealingKeySchema } from './sealing';
import { createSealedSecretStore } from './secret-store';

const key = randomBytes(32).toString('base64');

describe('sealed secret store', () => {
  it('seals a value into a reference that hides it, and opens it again under the same name', async () => {
    const store = createSealedSecretStore(key);
    const reference = await store.put('openwebui:c1:jwt', 'a-very-secret-value');
    expect(reference).not.toContain('a-very-secret-value');
    expect(reference).not.toBe(await store.put('openwebui:c1:jwt', 'a-very-secret-value'));
    await expect(store.read('openwebui:c1:jwt', reference)).resolves.toBe('a-very-secret-value');
  });

  it('refuses a reference read under another name, tampered with, or sealed under another key', async () => {
    const store = createSealedSecretStore(key);
    const reference = await store.put('openwebui:c1:jwt', 'secret');
    await expect(store.read('openwebui:c2:jwt', reference)).rejects.toBeInstanceOf(AppError);
    const sealed = JSON.parse(reference) as { data: string };
    const data = Buffer.from(sealed.data, 'base64');
    data[0] = (data[0] ?? 0) ^ 1;
    const tampered = JSON.stringify({ ...sealed, data: data.toString('base64') });
    await expect(store.read('openwebui:c1:jwt', tampered)).rejects.toBeInstanceOf(AppError);
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
