#!/usr/bin/env node
import path from 'node:path';

/**
 * Runs Azurite inside this process so that, when started by the local stack over an IPC channel, it exits
 * with its parent even if the parent is killed outright (no orphaned emulator holding the ports).
 */
if (process.connected) process.on('disconnect', () => process.exit(0));
// The channel only watches the parent; it must not keep this process alive on its own.
process.channel?.unref();
const azuriteMain = path.join(
  path.dirname(require.resolve('azurite/package.json')),
  'dist',
  'src',
  'azurite.js',
);
process.argv = [process.argv[0] ?? 'node', azuriteMain, ...process.argv.slice(2)];
// eslint-disable-next-line @typescript-eslint/no-require-imports -- Azurite's CLI is a script, loaded as such
require(azuriteMain);
