import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configSchema, parseConfig } from './config';

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
