#!/usr/bin/env node
import path from 'node:path';
import { applyLocalSettings } from '../local-settings';
import { devTokenCommand, devTokenUsage, UsageError } from './dev-token-command';

/** `npm run -s dev:token -- --user alice --tenant acme --role tenant_admin`: prints a development token. */
const repoRoot = path.resolve(__dirname, '..', '..', '..');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${devTokenUsage}\n`);
    return;
  }
  // The same precedence as the local stack: environment, then local.settings.json.
  applyLocalSettings(repoRoot);
  try {
    process.stdout.write(`${await devTokenCommand(args, process.env, repoRoot)}\n`);
  } catch (error: unknown) {
    const usage = error instanceof UsageError;
    process.stderr.write(`dev-token: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}

void main();
