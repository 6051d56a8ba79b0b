import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const localSettingsSchema = z.looseObject({
  IsEncrypted: z.boolean().optional(),
  Values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

/**
 * Applies `local.settings.json` `Values` to the environment without overriding variables already set, the
 * precedence `func start` uses: environment > local.settings.json > built-in defaults.
 */
export function applyLocalSettings(
  scriptRoot: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const file = path.join(scriptRoot, 'local.settings.json');
  if (!existsSync(file)) return undefined;
  const settings = localSettingsSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  if (settings.IsEncrypted)
    throw new Error('local.settings.json is encrypted; the local host reads plain settings only.');
  for (const [key, value] of Object.entries(settings.Values ?? {})) {
    if (env[key] === undefined) env[key] = String(value);
  }
  return file;
}
