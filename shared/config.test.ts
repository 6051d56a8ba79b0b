import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configSchema, parseConfig, webhookHttpsOnly } from './config';

const root = path.resolve(__dirname, '..');
const settingKeys = Object.keys(configSchema.shape).sort();
// Keys the Functions runtime itself reads; they belong in local.settings.json but not in the app's config.
const runtimeOnlyKeys = new Set(['FUNCTIONS_WORKER_RUNTIME', 'AzureWebJobsFeatureFlags']);

describe('config', () => {
  it('applies the embedded local defaults when nothing is set', () => {
    const config = parseConfig({});
    expect(config.COSMOS_ENDPOINT).toBe('http://127.0.0.1:8081');
    expect(config.AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');
    expect(config.TASK_HUB_NAME).toBe('UserStoryAgentHub');
    expect(config.COSMOS_ALLOW_INSECURE_TLS).toBe(false);
  });

  it('fails fast listing every bad key at once', () => {
    let caught: unknown;
    try {
      parseConfig({ COSMOS_ENDPOINT: 'not a url', TASK_HUB_NAME: '1bad', READY_CHECK_TIMEOUT_MS: 'soon' });
    } catch (error: unknown) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const issues = caught instanceof ConfigError ? caught.issues.join('\n') : '';
    expect(issues).toContain('COSMOS_ENDPOINT');
    expect(issues).toContain('TASK_HUB_NAME');
    expect(issues).toContain('READY_CHECK_TIMEOUT_MS');
  });

  it('refuses an unresolved Key Vault reference as the Anthropic key', () => {
    expect(() =>
      parseConfig({
        ANTHROPIC_API_KEY:
          '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/anthropic-api-key/)',
      }),
    ).toThrow(/ANTHROPIC_API_KEY: is an unresolved Key Vault reference/);
  });

  it('treats blank optional settings as unset', () => {
    expect(parseConfig({ COSMOS_KEY: '  ', STORAGE_ACCOUNT_URL: '' }).COSMOS_KEY).toBeUndefined();
  });

  it('is mirrored exactly by local.settings.sample.json', () => {
    const sample = JSON.parse(readFileSync(path.join(root, 'local.settings.sample.json'), 'utf8')) as {
      Values: Record<string, string>;
    };
    const sampleKeys = Object.keys(sample.Values)
      .filter((key) => !runtimeOnlyKeys.has(key))
      .sort();
    expect(sampleKeys).toEqual(settingKeys);
    expect(() => parseConfig(sample.Values)).not.toThrow();
  });

  it('is mirrored exactly by the README settings table', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = readme.split('## Settings')[1]?.split('\n## ')[0] ?? '';
    const documented = [...section.matchAll(/^\|\s*`([A-Za-z_][A-Za-z0-9_]*)`\s*\|\s*app\s*\|/gm)]
      .map((match) => match[1])
      .sort();
    expect(documented).toEqual(settingKeys);
  });
});

describe('auth settings', () => {
  const issuer = { issuer: 'https://login.example.com/t1/v2.0', audience: 'api://usa' };

  it('parses AUTH_ISSUERS from JSON and defaults it to no issuers', () => {
    expect(parseConfig({}).AUTH_ISSUERS).toEqual([]);
    expect(parseConfig({ AUTH_ISSUERS: JSON.stringify([issuer]) }).AUTH_ISSUERS).toEqual([issuer]);
  });

  it('rejects AUTH_ISSUERS that is not JSON or lacks an audience', () => {
    expect(() => parseConfig({ AUTH_ISSUERS: '[{' })).toThrow(/AUTH_ISSUERS: not valid JSON/);
    expect(() => parseConfig({ AUTH_ISSUERS: JSON.stringify([{ issuer: issuer.issuer }]) })).toThrow(
      /AUTH_ISSUERS\.0\.audience/,
    );
  });

  it('refuses the development issuer in production, at load time', () => {
    const env = { NODE_ENV: 'production', AUTH_DEV_ISSUER_URL: 'http://127.0.0.1:7079' };
    expect(() => parseConfig(env)).toThrow(ConfigError);
    expect(() => parseConfig(env)).toThrow(
      /AUTH_DEV_ISSUER_URL: must not be set when NODE_ENV is production/,
    );
    expect(parseConfig({ ...env, NODE_ENV: 'development' }).AUTH_DEV_ISSUER_URL).toBe(
      'http://127.0.0.1:7079',
    );
  });

  it('requires signing keys over https in production', () => {
    const plain = JSON.stringify([{ ...issuer, jwksUri: 'http://keys.example.com/jwks' }]);
    expect(() => parseConfig({ NODE_ENV: 'production', AUTH_ISSUERS: plain })).toThrow(
      /AUTH_ISSUERS\.0: .*https/,
    );
    expect(
      parseConfig({
        NODE_ENV: 'production',
        AUTH_ISSUERS: JSON.stringify([issuer]),
        WEBHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
      }).AUTH_ISSUERS,
    ).toHaveLength(1);
  });

  it('requires encrypted webhook secrets and https webhooks in production', () => {
    expect(() => parseConfig({ NODE_ENV: 'production' })).toThrow(/WEBHOOK_SECRET_KEY: is required/);
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(() =>
      parseConfig({ NODE_ENV: 'production', WEBHOOK_SECRET_KEY: key, WEBHOOK_HTTPS_ONLY: 'false' }),
    ).toThrow(/WEBHOOK_HTTPS_ONLY/);
    expect(webhookHttpsOnly(parseConfig({ NODE_ENV: 'production', WEBHOOK_SECRET_KEY: key }))).toBe(true);
    expect(webhookHttpsOnly(parseConfig({}))).toBe(false);
    expect(() => parseConfig({ WEBHOOK_SECRET_KEY: 'c2hvcnQ=' })).toThrow(/WEBHOOK_SECRET_KEY: 32 bytes/);
  });

  it('accepts a pepper of 32+ characters and refuses a short one', () => {
    expect(parseConfig({ API_KEY_PEPPER: 'p'.repeat(32) }).API_KEY_PEPPER).toHaveLength(32);
    expect(() => parseConfig({ API_KEY_PEPPER: 'short' })).toThrow(/API_KEY_PEPPER/);
    expect(parseConfig({ API_KEY_PEPPER: '' }).API_KEY_PEPPER).toBeUndefined();
  });
});
