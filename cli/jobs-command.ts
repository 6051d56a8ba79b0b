import { Command, Option } from 'commander';
import { z } from 'zod';
import { jobExportSchema } from '../shared/exports/job-export';
import { exportFormats } from '../shared/exports/export-source';
import {
  addJiraExportOptions,
  exitCodes,
  parseOptions,
  readStory,
  UsageError,
  writeExport,
} from './cli-support';
import { watchJob, watchReporter } from './job-watch';
import { exitCodeForJobError, ServiceClient, type ServiceConnection } from './service-client';

/** The options every `jobs` command takes, from the flags or the environment (an empty variable is unset). */
const unsetWhenEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());
const connectionOptionsSchema = z.object({
  server: unsetWhenEmpty(z.url({ protocol: /^https?$/ })),
  apiKey: unsetWhenEmpty(z.string()),
  token: unsetWhenEmpty(z.string()),
});

function connect(options: unknown): ServiceClient {
  const { server, apiKey, token } = parseOptions(connectionOptionsSchema, options);
  if (server === undefined)
    throw new UsageError('no service given: pass --server URL (or USER_STORY_AGENT_SERVER)');
  if (apiKey !== undefined && token !== undefined)
    throw new UsageError('pass either --api-key or --token, not both');
  const credential: ServiceConnection['credential'] | undefined =
    token !== undefined ? { token } : apiKey !== undefined ? { apiKey } : undefined;
  if (!credential) {
    throw new UsageError('no credential: pass --api-key KEY (or USER_STORY_AGENT_API_KEY) or --token JWT');
  }
  return new ServiceClient({ server: new URL(server), credential });
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

const createOptionsSchema = z.object({
  productType: z.string().optional(),
  mode: z.string().optional(),
  iterations: z.string().optional(),
  verify: z.boolean().optional(),
  model: z.string().optional(),
  idempotencyKey: z.string().optional(),
  watch: z.boolean().optional(),
});

const pageOptionsSchema = z.object({
  limit: z.string().optional(),
  cursor: z.string().optional(),
});

const listOptionsSchema = pageOptionsSchema.extend({ status: z.string().optional() });

const exportOptionsSchema = z.object({
  format: z.enum(exportFormats),
  output: z.string().optional(),
  jiraProjectKey: z.string().optional(),
  jiraAcceptanceCriteriaField: z.string().optional(),
});

const jobPath = (jobId: string) => `/api/v1/jobs/${encodeURIComponent(jobId)}`;

/** Follows the job, prints its specification on stdout when it completes; the exit code says how it ended. */
async function watch(client: ServiceClient, jobId: string): Promise<number> {
  const reporter = watchReporter();
  const outcome = await watchJob({
    client,
    jobId,
    onEvent: reporter.onEvent,
    onResume: reporter.onResume,
  }).finally(() => reporter.stop());
  if (outcome.status === 'completed') {
    process.stdout.write(outcome.story);
    return exitCodes.ok;
  }
  if (outcome.status === 'cancelled') {
    process.stderr.write(`job ${jobId} was cancelled\n`);
    return exitCodes.failure;
  }
  process.stderr.write(`job ${jobId} failed: ${outcome.code}: ${outcome.message}\n`);
  return exitCodeForJobError(outcome.code);
}

/** A job the service just accepted: printed as JSON, or followed to its end with `--watch`. */
async function started(
  service: ServiceClient,
  accepted: unknown,
  follow: boolean | undefined,
): Promise<number> {
  const job = z.looseObject({ id: z.string() }).parse(accepted);
  if (!follow) {
    printJson(job);
    return exitCodes.ok;
  }
  process.stderr.write(`job ${job.id}\n`);
  return watch(service, job.id);
}

/**
 * `jobs ...`: the deployed service's job API from the command line. The commands send what they are given and
 * report what the service answers; limits, defaults and validation stay the service's.
 */
export function jobsCommand(setExit: (code: number) => void): Command {
  const jobs = new Command('jobs')
    .description('create and follow jobs on a running service (--server URL with --api-key or --token)')
    .addOption(
      new Option('--server <url>', 'the service, e.g. https://usa.example.com').env(
        'USER_STORY_AGENT_SERVER',
      ),
    )
    .addOption(new Option('--api-key <key>', 'an API key (usa_...)').env('USER_STORY_AGENT_API_KEY'))
    .addOption(
      new Option('--token <jwt>', 'a bearer token of a signed-in user').env('USER_STORY_AGENT_TOKEN'),
    );
  const client = (command: Command) => connect(command.optsWithGlobals());

  jobs
    .command('create')
    .description('start a job for the story in FILE, or on stdin with - (the default)')
    .argument('[file]', 'story file; - for stdin', '-')
    .option('--product-type <type>', 'web, mobile-native, mobile-web, desktop or api')
    .option('--mode <mode>', 'individual, workflow or interactive')
    .option('--iterations <ids>', 'comma-separated iteration ids')
    .option('--verify', 'judge each iteration and retry once when it fails')
    .option('--model <id>', 'one model for every iteration')
    .option('--idempotency-key <key>', 'makes a retried create answer the same job')
    .option('--watch', 'then follow it as "jobs watch" does')
    .action(async (file: string, options: unknown, command: Command) => {
      const service = client(command);
      const given = parseOptions(createOptionsSchema, options);
      const body = {
        story: await readStory(file),
        productType: given.productType,
        mode: given.mode,
        iterations: given.iterations?.split(',').map((id) => id.trim()),
        options:
          given.verify === undefined && given.model === undefined
            ? undefined
            : { verify: given.verify, model: given.model },
      };
      const headers =
        given.idempotencyKey === undefined ? undefined : { 'idempotency-key': given.idempotencyKey };
      const accepted = await service.json('POST', '/api/v1/jobs', { body, ...(headers ? { headers } : {}) });
      setExit(await started(service, accepted, given.watch));
    });

  jobs
    .command('message')
    .description(
      'refine a completed job: TEXT ("add SEPA") runs as a new linked job on its specification (a turn)',
    )
    .argument('<jobId>')
    .argument('<text>', 'what to change, in plain words')
    .option('--watch', 'then follow the new job as "jobs watch" does')
    .action(async (jobId: string, text: string, options: unknown, command: Command) => {
      const service = client(command);
      const given = parseOptions(z.object({ watch: z.boolean().optional() }), options);
      const accepted = await service.json('POST', `${jobPath(jobId)}/messages`, { body: { message: text } });
      setExit(await started(service, accepted, given.watch));
    });

  jobs
    .command('messages')
    .description("a job's conversation: each message with the job that applied it (JSON, a page at a time)")
    .argument('<jobId>')
    .option('--limit <n>', 'messages per page')
    .option('--cursor <cursor>', 'the nextCursor of the previous page')
    .action(async (jobId: string, options: unknown, command: Command) => {
      const query = parseOptions(pageOptionsSchema, options);
      printJson(await client(command).json('GET', `${jobPath(jobId)}/messages`, { query }));
      setExit(exitCodes.ok);
    });

  jobs
    .command('get')
    .description('show a job (JSON)')
    .argument('<jobId>')
    .action(async (jobId: string, _options: unknown, command: Command) => {
      printJson(await client(command).json('GET', jobPath(jobId)));
      setExit(exitCodes.ok);
    });

  jobs
    .command('list')
    .description('list my jobs, newest first (JSON, a page at a time)')
    .option('--status <status>', 'only jobs with this status')
    .option('--limit <n>', 'jobs per page')
    .option('--cursor <cursor>', 'the nextCursor of the previous page')
    .action(async (options: unknown, command: Command) => {
      const query = parseOptions(listOptionsSchema, options);
      printJson(await client(command).json('GET', '/api/v1/jobs', { query }));
      setExit(exitCodes.ok);
    });

  jobs
    .command('cancel')
    .description('cancel a queued or running job')
    .argument('<jobId>')
    .action(async (jobId: string, _options: unknown, command: Command) => {
      printJson(await client(command).json('DELETE', jobPath(jobId)));
      setExit(exitCodes.ok);
    });

  jobs
    .command('watch')
    .description(
      'follow a job to its end (progress on stderr, the specification on stdout); resumes after drops',
    )
    .argument('<jobId>')
    .action(async (jobId: string, _options: unknown, command: Command) => {
      setExit(await watch(client(command), jobId));
    });

  const exportCommand = jobs
    .command('export')
    .description('export a completed job as markdown, gherkin, jira or azure-devops files')
    .argument('<jobId>')
    .addOption(new Option('--format <format>', 'export format').choices(exportFormats).makeOptionMandatory())
    .option(
      '--output <path>',
      'write to PATH instead of stdout (a directory when the export is several files)',
    )
    .action(async (jobId: string, options: unknown, command: Command) => {
      const given = parseOptions(exportOptionsSchema, options);
      const exported = jobExportSchema.parse(
        await client(command).json('GET', `${jobPath(jobId)}/export`, {
          query: {
            format: given.format,
            jiraProjectKey: given.format === 'jira' ? given.jiraProjectKey : undefined,
            jiraAcceptanceCriteriaField: given.jiraAcceptanceCriteriaField,
          },
        }),
      );
      await writeExport(exported.files, given.output);
      setExit(exitCodes.ok);
    });
  addJiraExportOptions(exportCommand);
  return jobs;
}
