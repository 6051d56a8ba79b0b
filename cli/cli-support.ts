import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { placeholderJiraProjectKey } from '../shared/exports/export-files';
import type { ExportFile } from '../shared/exports/export-source';

/**
 * Exit codes of every command: the API contract's 0/1/2, and 3 when the service refused for a quota (any 429:
 * rate limit, daily quota, concurrency, budget), so scripts can wait and retry rather than fail.
 */
export const exitCodes = { ok: 0, failure: 1, usage: 2, quota: 3 } as const;

/** A mistake in the command line itself: exit 2 with a one-line message. */
export class UsageError extends Error {}

/** A failure while doing the work: exit 1 (or the given code) with a one-line message. */
export class RuntimeFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number = exitCodes.failure,
  ) {
    super(message);
  }
}

/** Commander has checked the choices; zod turns its untyped option bag into a typed one. */
export function parseOptions<T>(schema: z.ZodType<T>, options: unknown): T {
  const parsed = schema.safeParse(options);
  if (!parsed.success) throw new UsageError(z.prettifyError(parsed.error).replace(/\s+/g, ' '));
  return parsed.data;
}

/** The story from FILE, or from stdin for `-`. */
export async function readStory(file: string): Promise<string> {
  if (file !== '-') {
    try {
      return await readFile(file, 'utf8');
    } catch (error: unknown) {
      const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
      throw new RuntimeFailure(`cannot read ${file}: ${reason}`);
    }
  }
  if (process.stdin.isTTY) throw new UsageError('no story given: pass a FILE or pipe the story on stdin');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** A file name as given by an export, refused if it could leave the output directory. */
function safeFileName(name: string): string {
  if (basename(name) !== name || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$/.test(name)) {
    throw new RuntimeFailure(`refusing to write an export file named ${JSON.stringify(name)}`);
  }
  return name;
}

/**
 * Writes an export: to stdout when no `output` is given (files after the first introduced by a `==> name <==`
 * line), to the file `output` when the export is one file, else into the directory `output`.
 */
export async function writeExport(files: readonly ExportFile[], output: string | undefined): Promise<void> {
  if (output === undefined) {
    const several = files.length > 1;
    for (const file of files) {
      process.stdout.write(several ? `==> ${safeFileName(file.name)} <==\n${file.content}\n` : file.content);
    }
    return;
  }
  const [single] = files;
  if (files.length === 1 && single) {
    await writeFile(output, single.content, 'utf8');
    return;
  }
  await mkdir(output, { recursive: true });
  for (const file of files) await writeFile(join(output, safeFileName(file.name)), file.content, 'utf8');
  process.stderr.write(`wrote ${files.map((file) => file.name).join(', ')} to ${output}\n`);
}

/** Adds the Jira export's options, for `enhance --format jira` and `jobs export --format jira` alike. */
export function addJiraExportOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--jira-project-key <key>', 'jira: the project key written into each issue').default(
        placeholderJiraProjectKey,
      ),
    )
    .addOption(
      new Option(
        '--jira-acceptance-criteria-field <id>',
        'jira: a rich-text custom field (customfield_NNNNN) for the acceptance criteria',
      ),
    );
}
