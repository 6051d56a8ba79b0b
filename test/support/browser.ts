import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { repoRoot } from './local-services';

const run = promisify(execFile);

const howToGetOne =
  'The browser test needs Chromium. `npm ci` installs one (the @sparticuz/chromium dev dependency, ' +
  'Linux x64/arm64); elsewhere install Chromium or Chrome and point CHROMIUM_PATH at its executable ' +
  '(e.g. CHROMIUM_PATH=/usr/bin/chromium after `apt-get install chromium`).';

/**
 * The Chromium executable for browser tests: `CHROMIUM_PATH` when set, otherwise the browser that the
 * @sparticuz/chromium package ships (brotli-packed inside the package, so `npm ci` is all it takes).
 * Never answers "no browser" quietly: it throws with instructions, so the test fails instead of skipping.
 */
export async function chromiumExecutable(): Promise<string> {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) {
    if (!existsSync(configured))
      throw new Error(`CHROMIUM_PATH=${configured} does not exist. ${howToGetOne}`);
    return configured;
  }
  // The package unpacks into os.tmpdir(); a folder of this checkout's node_modules keeps one unpacked copy
  // per installed version, where another checkout's (possibly other version) cannot be picked up.
  const manifest = path.join(repoRoot, 'node_modules', '@sparticuz', 'chromium', 'package.json');
  if (!existsSync(manifest)) throw new Error(`@sparticuz/chromium is not installed. ${howToGetOne}`);
  const { version } = z.object({ version: z.string() }).parse(JSON.parse(readFileSync(manifest, 'utf8')));
  const unpackInto = path.join(repoRoot, 'node_modules', '.cache', `sparticuz-chromium-${version}`);
  mkdirSync(unpackInto, { recursive: true });
  try {
    // In a child process: the package is an ES module and reads TMPDIR, which this process must not change.
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '--eval',
        "const { default: c } = await import('@sparticuz/chromium'); process.stdout.write(await c.executablePath());",
      ],
      { cwd: repoRoot, env: { ...process.env, TMPDIR: unpackInto }, timeout: 120_000 },
    );
    return stdout.trim();
  } catch (error: unknown) {
    throw new Error(`Could not unpack @sparticuz/chromium: ${String(error)}. ${howToGetOne}`, {
      cause: error,
    });
  }
}

/** Flags for a throw-away headless browser on a CI machine (no sandbox: CI runs as root). */
export const headlessChromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
