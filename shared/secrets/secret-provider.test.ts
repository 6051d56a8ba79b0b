import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config';
import { AppError } from '../errors';
import { createSecretProvider, secretSources, type SecretReader } from './secret-provider';

const pepperUri = 'https://kv-test.vault.azure.net/secrets/api-key-pepper';
const keyUri = 'https://kv-test.vault.azure.net/secrets/anthropic-api-key';

/** A vault stand-in for pure cache logic: values by URI, and every read counted. */
function fakeVault(values: Record<string, string>) {
  const reads: string[] = [];
  const reader: SecretReader = {
    read: (uri) => {
      reads.push(uri);
      const value = values[uri];
      return value === undefined
        ? Promise.reject(new AppError('upstream_unavailable', 'vault down'))
        : Promise.resolve(value);
    },
  };
  return { reader, reads, values };
}

describe('secretSources', () => {
  it('prefers the Key Vault URI, falls back to the plain setting, and omits unset secrets', () => {
    const config = parseConfig({ ANTHROPIC_API_KEY: 'plain-key', API_KEY_PEPPER_SECRET_URI: pepperUri });
    expect(secretSources(config)).toEqual({
      ANTHROPIC_API_KEY: { value: 'plain-key' },
      API_KEY_PEPPER: { uri: pepperUri },
    });
    expect(secretSources(parseConfig({}))).toEqual({});
    expect(
      secretSources(parseConfig({ ANTHROPIC_API_KEY: 'plain', ANTHROPIC_API_KEY_SECRET_URI: keyUri })),
    ).toEqual({ ANTHROPIC_API_KEY: { uri: keyUri } });
  });

  it('rejects a secret URI that does not name a secret, and http URIs in production', () => {
    expect(() => parseConfig({ ANTHROPIC_API_KEY_SECRET_URI: 'https://kv.vault.azure.net/keys/k' })).toThrow(
      /ANTHROPIC_API_KEY_SECRET_URI/,
    );
    expect(() =>
      parseConfig({ NODE_ENV: 'production', API_KEY_PEPPER_SECRET_URI: 'http://127.0.0.1:7082/secrets/p' }),
    ).toThrow(/API_KEY_PEPPER_SECRET_URI: must be an https URL/);
  });

  it('reads the OpenWebUI connection sealing key from the vault, and checks the value it finds there', async () => {
    const sealingKeyUri = 'https://kv-test.vault.azure.net/secrets/connection-secrets-key';
    const sources = secretSources(parseConfig({ CONNECTION_SECRETS_KEY_SECRET_URI: sealingKeyUri }));
    expect(sources).toEqual({ CONNECTION_SECRETS_KEY: { uri: sealingKeyUri } });
    const key = Buffer.alloc(32, 3).toString('base64');
    const good = createSecretProvider({
      sources,
      reader: fakeVault({ [sealingKeyUri]: key }).reader,
      ttlMs: 1,
    });
    expect(await good.get('CONNECTION_SECRETS_KEY')).toBe(key);
    const short = fakeVault({ [sealingKeyUri]: Buffer.alloc(16).toString('base64') });
    const refused = createSecretProvider({ sources, reader: short.reader, ttlMs: 1 });
    await expect(refused.get('CONNECTION_SECRETS_KEY')).rejects.toThrow(
      /CONNECTION_SECRETS_KEY is empty or malformed/,
    );
    expect(() =>
      parseConfig({
        NODE_ENV: 'production',
        WEBHOOK_SECRET_KEY: key,
        CONNECTION_SECRETS_KEY_SECRET_URI: 'http://127.0.0.1:7082/secrets/connection-secrets-key',
      }),
    ).toThrow(/CONNECTION_SECRETS_KEY_SECRET_URI: must be an https URL/);
  });
});

describe('createSecretProvider', () => {
  it('reads a vault secret once within the TTL, shared by concurrent callers, and again after it', async () => {
    const vault = fakeVault({ [keyUri]: 'key-1' });
    let now = 0;
    const secrets = createSecretProvider({
      sources: { ANTHROPIC_API_KEY: { uri: keyUri } },
      reader: vault.reader,
      ttlMs: 60_000,
      now: () => now,
    });
    expect(await Promise.all([secrets.get('ANTHROPIC_API_KEY'), secrets.get('ANTHROPIC_API_KEY')])).toEqual([
      'key-1',
      'key-1',
    ]);
    now = 59_999;
    vault.values[keyUri] = 'key-2';
    expect(await secrets.get('ANTHROPIC_API_KEY')).toBe('key-1');
    expect(vault.reads).toHaveLength(1);
    now = 60_000;
    expect(await secrets.get('ANTHROPIC_API_KEY')).toBe('key-2');
    expect(vault.reads).toHaveLength(2);
  });

  it('refresh reads at once, and a burst of refreshes shares one read', async () => {
    const vault = fakeVault({ [keyUri]: 'old' });
    const secrets = createSecretProvider({
      sources: { ANTHROPIC_API_KEY: { uri: keyUri } },
      reader: vault.reader,
      ttlMs: 300_000,
    });
    expect(await secrets.get('ANTHROPIC_API_KEY')).toBe('old');
    vault.values[keyUri] = 'rotated';
    const refreshed = await Promise.all([1, 2, 3].map(() => secrets.refresh('ANTHROPIC_API_KEY')));
    expect(refreshed).toEqual(['rotated', 'rotated', 'rotated']);
    expect(await secrets.get('ANTHROPIC_API_KEY')).toBe('rotated');
    expect(vault.reads).toHaveLength(2);
  });

  it('does not cache a failed read, and serves plain values without any read', async () => {
    const vault = fakeVault({});
    const secrets = createSecretProvider({
      sources: { ANTHROPIC_API_KEY: { uri: keyUri }, API_KEY_PEPPER: { value: 'p'.repeat(32) } },
      reader: vault.reader,
      ttlMs: 300_000,
    });
    await expect(secrets.get('ANTHROPIC_API_KEY')).rejects.toMatchObject({ code: 'upstream_unavailable' });
    vault.values[keyUri] = 'back';
    expect(await secrets.get('ANTHROPIC_API_KEY')).toBe('back');
    expect(await secrets.get('API_KEY_PEPPER')).toBe('p'.repeat(32));
    expect(vault.reads).toEqual([keyUri, keyUri]);
  });

  it("validates a vault value with the plain setting's schema, without echoing the value", async () => {
    const vault = fakeVault({ [pepperUri]: 'too-short-pepper' });
    const secrets = createSecretProvider({
      sources: { API_KEY_PEPPER: { uri: pepperUri } },
      reader: vault.reader,
      ttlMs: 1_000,
    });
    const error = await secrets.get('API_KEY_PEPPER').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect(String((error as AppError).message)).not.toContain('too-short-pepper');
    expect(await secrets.get('ANTHROPIC_API_KEY')).toBeUndefined();
  });
});
