import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sampleStoriesDir } from '../shared/engine/fixtures/sample-stories';
import { iterationResultSchema, passResultSchema, usageSchema } from '../shared/engine/iteration-result';
import { findingSchema } from '../shared/engine/patch';
import { reviewSchema } from '../shared/engine/review';
import { offlineResponder } from '../local/messages-api/offline-responder';
import { startMessagesApiServer, type MessagesApiServer } from '../local/messages-api/server';
import { jiraBulk, parseGherkin, patchDocument } from '../test/support/export-shapes';
import { png, svg } from '../test/support/mockup-files';

const root = resolve(__dirname, '..');
const cli = join(root, 'dist/cli/user-story-agent.js');
const stories = sampleStoriesDir;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI as a real process, with no API key unless the test sets one. */
function run(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [cli, ...args],
      { cwd: root, env: { ...process.env, ANTHROPIC_API_KEY: '', LLM_PROVIDER: '', ...options.env } },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

beforeAll(() => {
  // `npm test` builds first; a direct `vitest run` on a fresh checkout builds here.
  if (!existsSync(cli))
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      { cwd: root },
    );
}, 120_000);

const jsonOutputSchema = z.object({
  story: z.string(),
  iterations: z.array(iterationResultSchema),
  passes: z.array(passResultSchema),
  review: reviewSchema.optional(),
  findings: z.array(findingSchema),
  usage: usageSchema,
});

describe('user-story-agent enhance', () => {
  it('prints { story, iterations, usage } as JSON with the fields of a job result and exits 0', async () => {
    const result = await run(['enhance', join(stories, 'webhook-api.md'), '--format', 'json', '--verify']);
    expect(result.code).toBe(0);
    const output = jsonOutputSchema.parse(JSON.parse(result.stdout));
    expect(output.story).toMatch(/^# Register a webhook URL/);
    expect(output.iterations.map((i) => i.id)).toEqual([
      'user-roles',
      'validation',
      'performance',
      'security',
      'locale-formatting',
      'analytics',
    ]);
    expect(output.iterations.every((i) => i.status !== 'failed' && i.verification?.passed)).toBe(true);
    expect(output.usage.inputTokens).toBeGreaterThan(0);
    expect(output.usage.costUsd).toBe(0);
  });

  it('reads stdin, writes markdown, and prints one line per finished iteration when stderr is not a terminal', async () => {
    const result = await run(
      ['enhance', '-', '--mode', 'individual', '--iterations', 'security,validation'],
      {
        stdin: readFileSync(join(stories, 'bank-transfer.md'), 'utf8'),
      },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('## Outcome acceptance criteria');
    expect(result.stdout).toContain('> As a bank customer, I want to transfer money to another account.');
    const lines = result.stderr.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual([
      expect.stringMatching(/^(validation|security): applied \(\d+ changes, \d+ ms\)$/),
      expect.stringMatching(/^(validation|security): applied \(\d+ changes, \d+ ms\)$/),
    ]);
    // Then one line per judge round: at most the one rewrite round the default allows.
    expect(lines.slice(2).length).toBeGreaterThanOrEqual(1);
    expect(lines.slice(2).length).toBeLessThanOrEqual(2);
    for (const line of lines.slice(2)) {
      expect(line).toMatch(/^review round [12]: (approve|rewrite|manual-review) \(\d\.\d of 5\)$/);
    }
  });

  it("prints exactly the README's example output for the command the README gives", async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const example =
      /## Example output\n[\s\S]*?`npx user-story-agent (enhance [^`]+)`[\s\S]*?````markdown\n([\s\S]*?)````/.exec(
        readme,
      );
    expect(
      example,
      'README.md has an "Example output" section with the command and its output',
    ).not.toBeNull();
    const printed = await run(example?.[1]?.split(' ') ?? []);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toBe(example?.[2]);
  });

  it('writes to --output and honours --product-type over the front matter', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'usa-cli-')), 'story.json');
    const result = await run([
      'enhance',
      join(stories, 'login-web.md'),
      '--product-type',
      'api',
      '--format',
      'json',
      '--output',
      out,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    const written = z
      .object({ structured: z.object({ productType: z.string() }) })
      .parse(JSON.parse(readFileSync(out, 'utf8')));
    expect(written.structured.productType).toBe('api');
  });

  it('exports the enhanced story with --format: a .feature on stdout, several files into the --output directory', async () => {
    const story = `As a bank customer, I want to transfer money so that I can pay my rent.

## Acceptance criteria
- Given the customer is signed in, when they confirm a transfer, then the balance drops by the amount.
`;
    const gherkin = await run(
      ['enhance', '-', '--iterations', 'validation', '--mode', 'individual', '--format', 'gherkin'],
      { stdin: story },
    );
    expect(gherkin.code, gherkin.stderr).toBe(0);
    const feature = parseGherkin(gherkin.stdout).feature;
    expect(feature?.children.map((child) => child.scenario?.steps.map((step) => step.text))).toContainEqual([
      'the customer is signed in',
      'they confirm a transfer',
      'the balance drops by the amount',
    ]);

    const dir = join(mkdtempSync(join(tmpdir(), 'usa-cli-')), 'jira');
    const jira = await run(
      [
        'enhance',
        '-',
        '--iterations',
        'validation',
        '--mode',
        'individual',
        '--format',
        'jira',
        '--jira-project-key',
        'BANK',
        '--output',
        dir,
      ],
      { stdin: story },
    );
    expect(jira.code, jira.stderr).toBe(0);
    const bulk = jiraBulk.parse(JSON.parse(readFileSync(join(dir, 'jira-issues.json'), 'utf8')));
    expect(bulk.issueUpdates[0]?.fields.project.key).toBe('BANK');
    expect(readFileSync(join(dir, 'jira-import.csv'), 'utf8')).toMatch(/^Issue Id,Summary/);

    const ado = await run(
      ['enhance', '-', '--iterations', 'validation', '--mode', 'individual', '--format', 'azure-devops'],
      { stdin: story },
    );
    expect(ado.code, ado.stderr).toBe(0);
    expect(patchDocument.parse(JSON.parse(ado.stdout))[0]?.path).toBe('/fields/System.Title');
  });

  it.each([
    [['enhance', '--bogus'], /unknown option '--bogus'/],
    [['enhance', '--product-type', 'fridge', 'x.md'], /argument 'fridge' is invalid/],
    [['enhance', '--format', 'yaml', 'x.md'], /argument 'yaml' is invalid/],
    [['enhance', '--mode', 'individual', 'x.md'], /--mode individual needs --iterations/],
    [['enhance', '--iterations', 'security,telepathy', 'x.md'], /unknown iteration "telepathy"/],
    [['enhance', '--format', 'jira', '--jira-project-key', 'lower case', 'x.md'], /jiraProjectKey/],
    [['jobs', 'get', 'x'], /no service given: pass --server URL/],
    [[], /missing command/],
  ])('exits 2 with a one-line message for the usage error %j', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toBe('');
  });

  it('exits 1 when the story file cannot be read', async () => {
    const result = await run(['enhance', join(stories, 'missing.md')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot read .*missing\.md: ENOENT/);
  });

  it('exits 1 when the anthropic provider is chosen without an API key', async () => {
    const result = await run(['enhance', '--provider', 'anthropic', join(stories, 'login-web.md')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('needs ANTHROPIC_API_KEY');
  });

  it('exits 1 and reports the failed iterations when the LLM is unreachable', async () => {
    const result = await run(['enhance', join(stories, 'login-web.md'), '--iterations', 'security'], {
      env: {
        ANTHROPIC_API_KEY: 'test',
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
        ANTHROPIC_MAX_RETRIES: '0',
      },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/security failed: /);
  });
});

describe('user-story-agent enhance against a Messages API server', () => {
  let server: MessagesApiServer;
  beforeAll(async () => {
    server = await startMessagesApiServer({ responder: offlineResponder });
  });
  afterAll(() => server.close());

  it('uses the anthropic provider when ANTHROPIC_API_KEY is set, honouring ANTHROPIC_BASE_URL', async () => {
    const result = await run(
      ['enhance', join(stories, 'profile-photo.md'), '--format', 'json', '--iterations', 'security'],
      {
        env: { ANTHROPIC_API_KEY: 'test', ANTHROPIC_BASE_URL: server.url },
      },
    );
    expect(result.code).toBe(0);
    const output = jsonOutputSchema.parse(JSON.parse(result.stdout));
    expect(output.iterations[0]?.model).toBe('claude-sonnet-5-5');
    expect(output.usage.costUsd).toBeGreaterThan(0);
    // One iteration, then the consolidation and the judge (with a rewrite round when it asks for one, judged
    // again when it changed the story).
    const kinds = server.stats.received.map((entry) => entry.purpose?.kind);
    expect(kinds.slice(0, 3)).toEqual(['iteration', 'consolidation', 'review']);
    const rewrite = output.passes.find((pass) => pass.id === 'rewrite');
    expect(kinds.slice(3)).toEqual(
      rewrite ? ['rewrite', ...(rewrite.status === 'applied' ? ['review'] : [])] : [],
    );
    expect(output.review?.rounds).toBe(output.passes.filter((pass) => pass.id === 'review').length);
  });

  it('sends every call to the model given with --model', async () => {
    const result = await run(
      [
        'enhance',
        join(stories, 'profile-photo.md'),
        '--format',
        'json',
        '--iterations',
        'analytics,security',
      ],
      { env: { ANTHROPIC_API_KEY: 'test', ANTHROPIC_BASE_URL: server.url } },
    );
    const withModel = await run(
      [
        'enhance',
        join(stories, 'profile-photo.md'),
        '--format',
        'json',
        '--iterations',
        'analytics,security',
        '--model',
        'claude-opus-5-5',
      ],
      { env: { ANTHROPIC_API_KEY: 'test', ANTHROPIC_BASE_URL: server.url } },
    );
    const models = (out: string) => jsonOutputSchema.parse(JSON.parse(out)).iterations.map((i) => i.model);
    expect(models(result.stdout)).toEqual(['claude-sonnet-5-5', 'claude-haiku-5-5']);
    expect(models(withModel.stdout)).toEqual(['claude-opus-5-5', 'claude-opus-5-5']);
  });
});

describe('user-story-agent enhance --mockup', () => {
  let server: MessagesApiServer;
  let dir: string;
  beforeAll(async () => {
    server = await startMessagesApiServer({ responder: offlineResponder });
    dir = mkdtempSync(join(tmpdir(), 'usa-cli-mockups-'));
    writeFileSync(join(dir, 'login.png'), png(320, 200));
    writeFileSync(join(dir, 'login.svg'), svg());
    writeFileSync(join(dir, 'evil.svg'), svg('<script>alert(1)</script>'));
  });
  afterAll(() => server.close());

  it('reads each mockup (vision input through the SDK) and gives the iterations its inventory', async () => {
    const result = await run(
      [
        'enhance',
        join(stories, 'login-web.md'),
        '--format',
        'json',
        '--iterations',
        'interactive-elements',
        '--mockup',
        join(dir, 'login.png'),
        '--mockup',
        join(dir, 'login.svg'),
      ],
      { env: { ANTHROPIC_API_KEY: 'test', ANTHROPIC_BASE_URL: server.url } },
    );
    expect(result.code, result.stderr).toBe(0);
    const output = z
      .object({
        mockups: z.array(
          z.object({ fileName: z.string(), components: z.array(z.object({ id: z.string() })) }),
        ),
      })
      .parse(JSON.parse(result.stdout));
    expect(output.mockups.map((mockup) => mockup.fileName)).toEqual(['login.png', 'login.svg']);
    expect(output.mockups[1]?.components.map((component) => component.id)).toEqual(['COMP-001', 'COMP-002']);
    const vision = server.stats.received.filter((entry) => entry.purpose?.kind === 'mockup');
    expect(vision.map((entry) => entry.attachments[0]?.kind)).toEqual(['image', 'text']);
    const iteration = server.stats.received.find((entry) => entry.purpose?.kind === 'iteration');
    expect(JSON.stringify(iteration?.params.messages)).toContain('mockup_inventory');
  });

  it('refuses a hostile mockup with its reason and exit code 1', async () => {
    const result = await run(['enhance', join(stories, 'login-web.md'), '--mockup', join(dir, 'evil.svg')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('(svg_script)');
  });
});

describe('user-story-agent iterations', () => {
  it('lists the catalog, filtered by product type', async () => {
    const all = await run(['iterations']);
    const api = await run(['iterations', '--product-type', 'api', '--format', 'json']);
    expect(all.code).toBe(0);
    expect(all.stdout.trim().split('\n')).toHaveLength(12);
    expect(api.code).toBe(0);
    const ids = z
      .array(z.object({ id: z.string() }))
      .parse(JSON.parse(api.stdout))
      .map((row) => row.id);
    expect(ids).toEqual([
      'user-roles',
      'validation',
      'performance',
      'security',
      'locale-formatting',
      'analytics',
    ]);
  });
});
