#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, parseConfig } from '../shared/config';
import { z } from 'zod';
import {
  applicableIterations,
  iterationCatalog,
  iterationIdSchema,
  productTypes,
  productTypeSchema,
  type IterationId,
} from '../shared/engine/catalog';
import type { IterationResult } from '../shared/engine/iteration-result';
import type { MockupFile } from '../shared/engine/mockup-inventory';
import { runWorkflow } from '../shared/engine/runner';
import type { WorkflowEvent } from '../shared/engine/step-executor';
import { parseStory, type Story } from '../shared/engine/story';
import type { ApprovalDecision } from '../shared/engine/workflow';
import { isAppError } from '../shared/errors';
import { createLlmClient, type LlmProvider } from '../shared/llm/llm-client';
import type { LlmPort } from '../shared/llm/port';
import { readMockupFile } from '../shared/mockups/mockup-file';
import { exportFiles } from '../shared/exports/export-files';
import { exportFormats } from '../shared/exports/export-source';
import { exportJobQuerySchema } from '../shared/exports/job-export';
import {
  exitCodes,
  addJiraExportOptions,
  parseOptions,
  readStory,
  RuntimeFailure,
  UsageError,
  writeExport,
} from './cli-support';
import { jobsCommand } from './jobs-command';
import { ServiceError } from './service-client';

const enhanceOptionsSchema = z.object({
  productType: productTypeSchema.optional(),
  mode: z.enum(['individual', 'workflow', 'interactive']),
  iterations: z.string().optional(),
  verify: z.boolean().optional(),
  review: z.boolean(),
  rewriteRounds: z.coerce.number().int().min(0).max(3),
  format: z.enum(['json', ...exportFormats]),
  jiraProjectKey: exportJobQuerySchema.shape.jiraProjectKey,
  jiraAcceptanceCriteriaField: exportJobQuerySchema.shape.jiraAcceptanceCriteriaField,
  output: z.string().optional(),
  provider: z.enum(['offline', 'anthropic']).optional(),
  model: z.string().min(1).optional(),
  mockup: z.array(z.string().min(1)).max(20).default([]),
});
type EnhanceOptions = z.infer<typeof enhanceOptionsSchema>;

const listOptionsSchema = z.object({
  productType: productTypeSchema.optional(),
  format: z.enum(['text', 'json']),
});

function parseIterationList(list: string | undefined): IterationId[] | undefined {
  if (list === undefined) return undefined;
  const ids = list
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  return ids.map((id) => {
    const parsed = iterationIdSchema.safeParse(id);
    if (!parsed.success) throw new UsageError(`unknown iteration "${id}" (see: user-story-agent iterations)`);
    return parsed.data;
  });
}

function buildLlm(provider: LlmProvider | undefined): LlmPort {
  try {
    return createLlmClient(parseConfig(process.env), provider === undefined ? {} : { provider });
  } catch (error: unknown) {
    if (error instanceof ConfigError) throw new RuntimeFailure(error.issues.join('; '));
    if (isAppError(error)) throw new RuntimeFailure(`${error.message} (or use --provider offline)`);
    throw error;
  }
}

function describeResult(result: IterationResult): string {
  const verification = result.verification ? `, verification ${result.verification.score.toFixed(2)}` : '';
  const rejected = result.rejected.length > 0 ? `, ${result.rejected.length} rejected` : '';
  return `${result.status} (${result.changes.length} changes${rejected}${verification}, ${result.durationMs} ms)`;
}

/** One line for each step that is not an iteration: a mockup read, a judge round's verdict. */
function reportStep(event: WorkflowEvent): void {
  if (event.type === 'mockup:complete') process.stderr.write(`mockup ${event.fileName}: read\n`);
  if (event.type === 'review:complete') {
    process.stderr.write(
      `review round ${event.round}: ${event.verdict} (${event.overall.toFixed(1)} of 5)\n`,
    );
  }
}

/** Expected size of one iteration's answer, so streamed characters can move a bar. */
const expectedAnswerChars = 2_500;

/**
 * A bar per iteration on an interactive terminal; one line per finished iteration otherwise, so logs and CI
 * output stay readable.
 */
function progressReporter(): { onEvent: (event: WorkflowEvent) => void; stop: () => void } {
  if (!process.stderr.isTTY) {
    return {
      onEvent: (event) => {
        if (event.type === 'iteration:complete') {
          process.stderr.write(`${event.iteration}: ${describeResult(event.result)}\n`);
        } else {
          reportStep(event);
        }
      },
      stop: () => undefined,
    };
  }
  const multibar = new MultiBar(
    {
      stream: process.stderr,
      format: '{iteration} |{bar}| {state}',
      hideCursor: true,
      clearOnComplete: false,
    },
    Presets.shades_classic,
  );
  const bars = new Map<IterationId, { bar: SingleBar; chars: number }>();
  const width = Math.max(...iterationCatalog.map((definition) => definition.id.length));
  return {
    onEvent: (event) => {
      if (
        event.type !== 'iteration:start' &&
        event.type !== 'iteration:progress' &&
        event.type !== 'iteration:complete'
      ) {
        reportStep(event);
        return;
      }
      if (event.type === 'iteration:start') {
        const bar = multibar.create(100, 0, { iteration: event.iteration.padEnd(width), state: 'running' });
        bars.set(event.iteration, { bar, chars: 0 });
        return;
      }
      const entry = bars.get(event.iteration);
      if (!entry) return;
      if (event.type === 'iteration:progress') {
        entry.chars += event.chunk.length;
        entry.bar.update(Math.min(95, Math.floor((entry.chars / expectedAnswerChars) * 100)));
      } else {
        entry.bar.update(100, { state: describeResult(event.result) });
      }
    },
    stop: () => multibar.stop(),
  };
}

/** Interactive mode asks on the terminal; without one (piped input, CI) every iteration is applied. */
function approver(
  canAsk: boolean,
): ((step: { result: IterationResult }) => Promise<ApprovalDecision>) | undefined {
  if (!canAsk) return undefined;
  return async ({ result }) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      for (const change of result.changes) process.stderr.write(`  + [${change.section}] ${change.text}\n`);
      const answer = (await rl.question(`Apply ${result.id}? [Y]es / [s]kip / [q]uit: `))
        .trim()
        .toLowerCase();
      return answer.startsWith('s') ? 'skip' : answer.startsWith('q') ? 'stop' : 'continue';
    } finally {
      rl.close();
    }
  };
}

async function enhance(file: string, options: EnhanceOptions): Promise<number> {
  const iterations = parseIterationList(options.iterations);
  if (options.mode === 'individual' && (iterations === undefined || iterations.length === 0)) {
    throw new UsageError('--mode individual needs --iterations a,b');
  }
  const llm = buildLlm(options.provider);
  const text = await readStory(file);
  let story: Story;
  try {
    story = parseStory(text, options.productType ? { productType: options.productType } : {});
  } catch (error: unknown) {
    if (isAppError(error)) throw new RuntimeFailure(error.message);
    throw error;
  }
  const mockups: MockupFile[] = [];
  for (const mockupFile of options.mockup) {
    try {
      mockups.push(await readMockupFile(mockupFile));
    } catch (error: unknown) {
      if (isAppError(error)) throw new RuntimeFailure(error.message);
      throw error;
    }
  }
  const names = mockups.map((mockup) => mockup.id);
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated) throw new UsageError(`two mockups have the same name (${repeated}); rename one`);
  const interactive = options.mode === 'interactive';
  const canAsk = interactive && file !== '-' && process.stdin.isTTY === true && process.stderr.isTTY === true;
  const progress = interactive ? undefined : progressReporter();
  const result = await runWorkflow({
    llm,
    story,
    mockups,
    iterations,
    strategy: interactive ? 'sequential' : 'parallel',
    verify: options.verify === true,
    review: options.review,
    rewriteRounds: options.rewriteRounds,
    models: options.model === undefined ? {} : { model: options.model },
    onEvent:
      progress?.onEvent ??
      ((event) => {
        // Interactive results are proposals until approved, so say so rather than "applied".
        if (event.type === 'iteration:complete') {
          process.stderr.write(`${event.iteration}: ${event.result.changes.length} changes proposed\n`);
        } else {
          reportStep(event);
        }
      }),
    approve: approver(canAsk),
  }).finally(() => progress?.stop());

  if (options.format === 'json') {
    // The same fields as a job's `result` and `usage`, plus the structured story.
    const json = {
      story: result.markdown,
      iterations: result.iterations,
      passes: result.passes,
      ...(result.review ? { review: result.review } : {}),
      findings: result.findings,
      usage: result.usage,
      ...(mockups.length > 0 ? { mockups: result.mockups } : {}),
      structured: result.story,
    };
    const out = `${JSON.stringify(json, null, 2)}\n`;
    if (options.output) await writeFile(options.output, out, 'utf8');
    else process.stdout.write(out);
  } else {
    const source = {
      specifications: [{ key: 'story', story: result.story, markdown: result.markdown }],
      links: [],
    };
    const jira = {
      projectKey: options.jiraProjectKey,
      acceptanceCriteriaField: options.jiraAcceptanceCriteriaField,
    };
    await writeExport(exportFiles(source, options.format, { jira }), options.output);
  }

  const failed = [...result.iterations, ...result.passes].filter((step) => step.status === 'failed');
  for (const step of failed) {
    process.stderr.write(`${step.id} failed: ${step.error?.message ?? step.summary}\n`);
  }
  // A mockup that could not be read stops the run before any iteration has a result to report.
  if (failed.length === 0 && result.error) process.stderr.write(`${result.error.message}\n`);
  return failed.length > 0 || result.outcome === 'failed' ? exitCodes.failure : exitCodes.ok;
}

function listIterations(options: z.infer<typeof listOptionsSchema>): number {
  const list = options.productType ? applicableIterations(options.productType) : [...iterationCatalog];
  if (options.format === 'json') {
    const rows = list.map(({ id, name, category, description, sections, productTypes: types }) => ({
      id,
      name,
      category,
      description,
      sections,
      productTypes: types,
    }));
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return exitCodes.ok;
  }
  const width = Math.max(...list.map((definition) => definition.id.length));
  for (const definition of list) {
    process.stdout.write(
      `${definition.id.padEnd(width)}  ${definition.category.padEnd(10)}  ${definition.description}\n`,
    );
  }
  return exitCodes.ok;
}

function program(setExit: (code: number) => void): Command {
  const productTypeOption = () => new Option('--product-type <type>', 'product type').choices(productTypes);
  const root = new Command('user-story-agent')
    .description('Turns a rough user story into a complete, testable specification.')
    .exitOverride()
    .showSuggestionAfterError(false)
    .action(() => {
      throw new UsageError('missing command: use "enhance", "iterations" or "jobs" (see --help)');
    });
  const enhanceCommand = root
    .command('enhance')
    .description('enhance a story from FILE, or from stdin with - (the default)')
    .argument('[file]', 'story file (markdown, optional front matter); - for stdin', '-')
    .addOption(productTypeOption())
    .addOption(
      new Option('--mode <mode>', 'which iterations run and how')
        .choices(['individual', 'workflow', 'interactive'])
        .default('workflow'),
    )
    .option('--iterations <ids>', 'comma-separated iteration ids')
    .option('--verify', 'judge each iteration and retry once when it fails')
    .option('--no-review', 'skip consolidation and the whole-story judge')
    .addOption(
      new Option('--rewrite-rounds <n>', 'rewrite rounds the judge may ask for')
        .choices(['0', '1', '2', '3'])
        .default('1'),
    )
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['json', ...exportFormats])
        .default('markdown'),
    )
    .option(
      '--output <path>',
      'write the result to PATH instead of stdout (a directory when it is several files)',
    )

    .addOption(new Option('--provider <provider>', 'LLM provider').choices(['offline', 'anthropic']))
    .option('--model <id>', 'one model for every iteration (default: per iteration, see the catalog)')
    .option(
      '--mockup <file>',
      'a mockup (.png, .jpg, .pdf, .svg) to read before the iterations; repeatable',
      (file: string, files: string[]) => [...files, file],
      [],
    )
    .action(async (file: unknown, options: unknown) =>
      setExit(await enhance(parseOptions(z.string(), file), parseOptions(enhanceOptionsSchema, options))),
    );
  addJiraExportOptions(enhanceCommand);
  root.addCommand(jobsCommand(setExit));
  root
    .command('iterations')
    .description('list the iteration catalog')
    .addOption(productTypeOption())
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((options: unknown) => setExit(listIterations(parseOptions(listOptionsSchema, options))));
  return root;
}

/** Runs the command line and resolves to the process exit code; never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  let code: number = exitCodes.ok;
  try {
    await program((exit) => (code = exit)).parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error: unknown) {
    if (error instanceof CommanderError) {
      // Commander has already printed its one-line message (or the help text, for exit code 0).
      return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      return exitCodes.usage;
    }
    if (error instanceof RuntimeFailure || error instanceof ServiceError) {
      process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    const message = isAppError(error) ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    return exitCodes.failure;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
