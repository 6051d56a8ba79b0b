import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumExecutable } from '../support/browser';
import { tempDir } from '../support/local-services';

const configured = process.env.CHROMIUM_PATH;

afterEach(() => {
  if (configured === undefined) delete process.env.CHROMIUM_PATH;
  else process.env.CHROMIUM_PATH = configured;
});

describe('Chromium for the browser tests', () => {
  it('fails, saying how to get a browser, when CHROMIUM_PATH names no file', async () => {
    process.env.CHROMIUM_PATH = path.join(tempDir('no-browser'), 'chromium');
    await expect(chromiumExecutable()).rejects.toThrow(
      /does not exist\. The browser test needs Chromium\. `npm ci` installs one/,
    );
  });

  it('takes the browser that npm ci installed when CHROMIUM_PATH is not set', async () => {
    delete process.env.CHROMIUM_PATH;
    const executable = await chromiumExecutable();
    expect(path.basename(executable)).toBe('chromium');
    expect(path.relative(path.join(__dirname, '..', '..', 'node_modules'), executable).startsWith('..')).toBe(
      false,
    );
  }, 120_000);
});
