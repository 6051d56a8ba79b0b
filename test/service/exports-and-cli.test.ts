import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adfDocument, jiraBulk, parseGherkin, patchDocument } from '../support/export-shapes';
import {
  client,
  finished,
  startService,
  waitForJob,
  type Client,
  type ServiceUnderTest,
} from '../support/service';

/**
 * Exports of finished jobs through the HTTP route, and the command line as a client of the running service
 * (API key and bearer token, exit codes, `watch` across a dropped connection), against the local stack.
 */
const cli = resolve(__dirname, '../../dist/cli/user-story-agent.js');
const story = `As a bank customer, I want to transfer money to another account so that I can pay my rent.

## Acceptance criteria
- Given the customer is signed in, when they confirm a transfer of 50 EUR, then the balance drops by 50 EUR.
- Given the amount exceeds the balance, when they confirm the transfer, then it is refused with the reason.
`;
const quickJob = { story, mode: 'individual', iterations: ['validation', 'security'] };

let service: ServiceUnderTest;
let alice: Client;
let aliceToken: string;
let apiKey: string;
let storyFile: string;
let workDir: string;

beforeAll(async () => {
  // Slow iterations, so a job is still running while `watch` follows it.
  service = await startService({ OFFLINE_LATENCY_MS: '1500' });
  aliceToken = await service.token({ sub: 'alice', tenantId: 'acme' });
  alice = client(service.url, aliceToken);
  const created = await alice.post('/api/v1/api-keys', { name: 'cli tests' });
  expect(created.status).toBe(201);
  apiKey = String(created.json.key);
  workDir = mkdtempSync(join(tmpdir(), 'usa-cli-client-'));
  storyFile = join(workDir, 'transfer.md');
  writeFileSync(storyFile, story);
});

afterAll(async () => {
  await service?.stop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The compiled CLI as a real process, with no connection settings from the environment unless given. */
function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [cli, ...args],
      {
        env: {
          ...process.env,
          USER_STORY_AGENT_SERVER: '',
          USER_STORY_AGENT_API_KEY: '',
          USER_STORY_AGENT_TOKEN: '',
          ...env,
        },
        timeout: 90_000,
      },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    child.stdin?.end('');
  });
}

/** `jobs create` of the story file as an individual job running `iterations`, plus any further arguments. */
const createArgs = (iterations: string[], ...rest: string[]) => [
  'jobs',
  'create',
  storyFile,
  '--mode',
  'individual',
  '--iterations',
  iterations.join(','),
  ...rest,
];

const viaKey = (...args: string[]) => run(['jobs', ...args, '--server', service.url, '--api-key', apiKey]);

async function completedJob(api: Client): Promise<Record<string, any>> {
  const created = await api.post('/api/v1/jobs', quickJob);
  expect(created.status).toBe(202);
  const job = await waitForJob(api, String(created.json.id), finished, 60_000);
  expect(job.status).toBe('completed');
  return job;
}

describe('GET /api/v1/jobs/{jobId}/export', () => {
  let job: Record<string, any>;
  beforeAll(async () => {
    job = await completedJob(alice);
  });

  const exported = async (format: string, query = '') => {
    const response = await alice.get(`/api/v1/jobs/${job.id}/export?format=${format}${query}`);
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    expect(response.json.format).toBe(format);
    return response.json.files as { name: string; mediaType: string; content: string }[];
  };

  it('exports markdown as the job’s specification', async () => {
    const [file, ...others] = await exported('markdown');
    expect(others).toHaveLength(0);
    expect(file?.content).toBe(job.result.story);
  });

  it('exports a .feature file the official Gherkin parser accepts, a Scenario per Given/When/Then criterion', async () => {
    const [file] = await exported('gherkin');
    expect(file?.name).toMatch(/\.feature$/);
    const feature = parseGherkin(file?.content ?? '').feature!;
    expect(feature.name).toBe('Transfer money to another account');
    const steps = feature.children.map((child) => child.scenario!.steps.map((step) => step.text));
    expect(steps).toContainEqual([
      'the customer is signed in',
      'they confirm a transfer of 50 EUR',
      'the balance drops by 50 EUR',
    ]);
  });

  it('exports Jira create-issue bodies (ADF description) and an importer CSV', async () => {
    const files = await exported(
      'jira',
      '&jiraProjectKey=BANK&jiraAcceptanceCriteriaField=customfield_10050',
    );
    const bulk = jiraBulk.parse(JSON.parse(files.find((file) => file.name.endsWith('.json'))?.content ?? ''));
    const fields = bulk.issueUpdates[0]!.fields;
    expect(fields.project.key).toBe('BANK');
    expect(JSON.stringify(adfDocument.parse(fields.customfield_10050))).toContain(
      'the balance drops by 50 EUR',
    );
    expect(files.find((file) => file.name.endsWith('.csv'))?.content).toMatch(/^Issue Id,Summary,Issue Type/);
  });

  it('exports an Azure DevOps JSON Patch document for a User Story', async () => {
    const [file] = await exported('azure-devops');
    const document = patchDocument.parse(JSON.parse(file?.content ?? ''));
    expect(document.map((operation) => operation.path)).toEqual([
      '/fields/System.Title',
      '/fields/System.Description',
      '/fields/Microsoft.VSTS.Common.AcceptanceCriteria',
      '/fields/System.Tags',
    ]);
  });

  it('answers 404 for another tenant’s or another user’s job and 400 for an unknown format', async () => {
    const stranger = client(service.url, await service.token({ sub: 'alice', tenantId: 'globex' }));
    const colleague = client(service.url, await service.token({ sub: 'bob', tenantId: 'acme' }));
    for (const api of [stranger, colleague]) {
      const response = await api.get(`/api/v1/jobs/${job.id}/export?format=gherkin`);
      expect(response.status).toBe(404);
      expect(response.json.code).toBe('not_found');
    }
    const unknown = await alice.get(`/api/v1/jobs/${job.id}/export?format=pdf`);
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
  });

  it('answers 409 job_not_completed while a job waits for approval', async () => {
    const created = await alice.post('/api/v1/jobs', {
      story,
      mode: 'interactive',
      iterations: ['validation'],
    });
    await waitForJob(alice, String(created.json.id), (state) => state.status === 'awaiting_approval', 60_000);
    const response = await alice.get(`/api/v1/jobs/${created.json.id}/export?format=jira`);
    expect(response.status).toBe(409);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.json.code).toBe('job_not_completed');
    expect((await alice.delete(`/api/v1/jobs/${created.json.id}`)).status).toBe(202);
  });
});

// Each command is a new Node process: on a loaded machine a test of several takes a while.
describe('user-story-agent jobs (a client of the service)', { timeout: 240_000 }, () => {
  it('creates, gets, lists and exports a job with an API key', async () => {
    const created = await viaKey('create', storyFile, '--mode', 'individual', '--iterations', 'validation');
    expect(created.code, created.stderr).toBe(0);
    const jobId = String((JSON.parse(created.stdout) as { id: string }).id);
    await waitForJob(alice, jobId, finished, 60_000);

    const got = await viaKey('get', jobId);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: jobId, status: 'completed' });

    const listed = await viaKey('list', '--status', 'completed', '--limit', '50');
    expect(listed.code).toBe(0);
    const items = (JSON.parse(listed.stdout) as { items: { id: string }[] }).items;
    expect(items.map((item) => item.id)).toContain(jobId);

    const outputDir = join(workDir, `export-${jobId}`);
    const exported = await viaKey('export', jobId, '--format', 'jira', '--output', outputDir);
    expect(exported.code, exported.stderr).toBe(0);
    jiraBulk.parse(JSON.parse(readFileSync(join(outputDir, 'jira-issues.json'), 'utf8')));
    const feature = await viaKey('export', jobId, '--format', 'gherkin');
    expect(parseGherkin(feature.stdout).feature?.children.length).toBeGreaterThan(0);
  });

  it('refines a completed job with "jobs message --watch" and lists the conversation with "jobs messages"', async () => {
    const job = await completedJob(alice);
    const refined = await viaKey('message', String(job.id), 'add SEPA', '--watch');
    expect(refined.code, refined.stderr).toBe(0);
    expect(refined.stdout).toContain('SEPA');
    const turnId = /^job (\S+)$/m.exec(refined.stderr)?.[1];
    expect(turnId).toBeDefined();
    const history = await viaKey('messages', String(job.id));
    expect(history.code, history.stderr).toBe(0);
    expect(JSON.parse(history.stdout)).toMatchObject({
      conversationId: job.id,
      items: [{ turn: 1, message: 'add SEPA', job: { id: turnId, status: 'completed' } }],
    });
    const blank = await viaKey('message', String(turnId), '   ');
    expect(blank.code).toBe(2);
    expect(blank.stderr).toContain('validation_failed');
  });

  it('cancels with a bearer token, and exits 1 when the service refuses (409 for a finished job)', async () => {
    const created = await alice.post('/api/v1/jobs', {
      story,
      mode: 'interactive',
      iterations: ['validation'],
    });
    const jobId = String(created.json.id);
    await waitForJob(alice, jobId, (state) => state.status === 'awaiting_approval', 60_000);
    const asToken = (...args: string[]) =>
      run(['jobs', ...args], { USER_STORY_AGENT_SERVER: service.url, USER_STORY_AGENT_TOKEN: aliceToken });
    const cancelled = await asToken('cancel', jobId);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    await waitForJob(alice, jobId, finished, 60_000);
    const again = await asToken('export', jobId, '--format', 'markdown');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('409 job_not_completed');
  });

  it('exits 2 for a usage mistake, here or as the service judges it, and 1 for a job that is not there', async () => {
    const noCredential = await run(['jobs', 'get', 'x', '--server', service.url]);
    expect(noCredential.code).toBe(2);
    expect(noCredential.stderr).toContain('--api-key');
    const badMode = await viaKey('create', storyFile, '--mode', 'sideways');
    expect(badMode.code).toBe(2);
    expect(badMode.stderr).toContain('400 validation_failed');
    const missing = await viaKey('get', '00000000-0000-4000-8000-000000000000');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('404 not_found');
  });

  it('exits 3 when a quota refuses the job', async () => {
    const admin = client(
      service.url,
      await service.token({ sub: 'root', tenantId: 'operator', roles: ['platform_admin'] }),
    );
    const plan = {
      id: 'one-a-day',
      name: 'One a day',
      limits: {
        requestsPerDay: 1,
        tokensPerDay: 1_000_000,
        maxStoryBytes: 10_000,
        maxIterations: 12,
        maxConcurrentJobs: 5,
        maxQueuedJobs: 5,
        requestsPerMinute: 60,
        monthlyBudgetUsd: 10,
      },
    };
    expect((await admin.post('/api/v1/admin/plans', plan)).status).toBe(201);
    expect((await admin.patch('/api/v1/admin/tenants/frugal/plan', { planId: 'one-a-day' })).status).toBe(
      200,
    );
    const token = await service.token({ sub: 'carol', tenantId: 'frugal' });
    const create = () => run(createArgs(['validation'], '--server', service.url, '--token', token));
    expect((await create()).code).toBe(0);
    const refused = await create();
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('429 quota_exceeded');
  });
});

/**
 * A loopback TCP proxy in front of the service that cuts the connection carrying the first event stream once
 * its first event has gone through, and records every request it forwarded. The service may write several
 * events in one TCP segment, so the proxy also records the last event id it passed on before the cut: that
 * is the id the client must resume after.
 */
async function startCuttingProxy(target: URL) {
  const connections: string[] = [];
  const streamRequests: string[] = [];
  let cut = false;
  let lastIdBeforeCut: string | undefined;
  const server = net.createServer((downstream) => {
    const index = connections.push('') - 1;
    const upstream = net.connect(Number(target.port), target.hostname);
    let answered = '';
    const close = () => {
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on('data', (chunk: Buffer) => {
      connections[index] += chunk.toString('latin1');
      const request = /^GET \/api\/v1\/jobs\/[^/]+\/stream HTTP\/1\.1\r\n([\s\S]*?)\r\n\r\n/.exec(
        chunk.toString('latin1'),
      );
      if (request) streamRequests.push(request[1] ?? '');
      if (!upstream.destroyed) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      downstream.write(chunk);
      answered += chunk.toString('latin1');
      const streaming = /\/stream HTTP/.test(connections[index] ?? '');
      if (!cut && streaming && /event: start[\s\S]*?\n\n/.test(answered)) {
        cut = true;
        lastIdBeforeCut = [...answered.matchAll(/^id: (\d+)$/gm)].at(-1)?.[1];
        // End the client's side gracefully so what was forwarded reaches it before the close.
        upstream.off('close', close).off('error', close).destroy();
        downstream.end();
      }
    });
    downstream.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** The header blocks of the stream requests, in the order they were sent. */
    streamRequests: () => [...streamRequests],
    wasCut: () => cut,
    /** The id of the last event forwarded on the stream that was cut. */
    lastIdBeforeCut: () => lastIdBeforeCut,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describe('user-story-agent jobs watch', { timeout: 240_000 }, () => {
  it('resumes with Last-Event-ID after the connection drops, missing and repeating no event', async () => {
    const proxy = await startCuttingProxy(new URL(service.url));
    try {
      const iterations = ['validation', 'security', 'performance'];
      // create --watch opens the stream as soon as the job exists, well before its slow iterations end.
      const watched = await run(
        createArgs(iterations, '--watch', '--server', proxy.url, '--api-key', apiKey),
      );
      expect(watched.code, watched.stderr).toBe(0);
      expect(proxy.wasCut()).toBe(true);
      const jobId = /^job (\S+)$/m.exec(watched.stderr)?.[1] ?? '';

      const streamRequests = proxy.streamRequests();
      expect(streamRequests.length, watched.stderr).toBeGreaterThanOrEqual(2);
      expect(streamRequests[0]).not.toMatch(/last-event-id/i);
      const resumedAfter = proxy.lastIdBeforeCut();
      expect(resumedAfter).toMatch(/^\d+$/);
      expect(streamRequests[1]).toMatch(new RegExp(`^last-event-id: ${resumedAfter}\\r?$`, 'im'));
      expect(watched.stderr).toContain(`stream interrupted; resuming after event ${resumedAfter}`);
      for (const iteration of iterations) {
        expect(watched.stderr.match(new RegExp(`\\d/3 ${iteration}: started`, 'g'))).toHaveLength(1);
        expect(watched.stderr.match(new RegExp(`^${iteration}: done`, 'gm'))).toHaveLength(1);
      }
      const job = await alice.get(`/api/v1/jobs/${jobId}`);
      expect(job.json.status).toBe('completed');
      expect(watched.stdout).toBe(job.json.result.story);
    } finally {
      await proxy.close();
    }
  });

  it('exits 1 with the reason when the watched job is cancelled', async () => {
    const created = await alice.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['validation', 'security'],
    });
    const jobId = String(created.json.id);
    const watching = run(['jobs', 'watch', jobId, '--server', service.url, '--api-key', apiKey]);
    await alice.delete(`/api/v1/jobs/${jobId}`);
    const watched = await watching;
    expect(watched.code).toBe(1);
    expect(watched.stderr).toContain(`job ${jobId} was cancelled`);
  });
});
