import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowBrowserUploads } from '../../local/emulators/azurite-cors';
import { startLocalWebPubSub, type LocalWebPubSub } from '../../local/web-pubsub/server';
import { png, svg } from '../support/mockup-files';
import { repoRoot, tempDir } from '../support/local-services';
import { sampleStoriesDir } from '../../shared/engine/fixtures/sample-stories';
import { chromiumExecutable, headlessChromiumArgs } from '../support/browser';
import { client, startService, waitForJob, type ServiceUnderTest } from '../support/service';

let pubsub: LocalWebPubSub;
let service: ServiceUnderTest;
let browser: BrowserContext;
let page: Page;
let token: string;
const screenshot = path.join(repoRoot, 'test-results', 'progress-page.png');

beforeAll(async () => {
  // First, so that a missing browser fails the suite at once with instructions.
  const executablePath = await chromiumExecutable();
  pubsub = await startLocalWebPubSub();
  // Each offline LLM call takes 1.2 s: long enough to watch and to cancel a job mid-run, short enough to be quick.
  service = await startService({
    OFFLINE_LATENCY_MS: '1200',
    WEB_PUBSUB_CONNECTION_STRING: pubsub.connectionString,
  });
  token = await service.token({ sub: 'alice', tenantId: 'acme' });
  await allowBrowserUploads(service.azurite.connectionString, [new URL(service.url).origin]);
  // A fresh profile per run; a phone-sized viewport, since the page must work there.
  browser = await chromium.launchPersistentContext(tempDir('chromium'), {
    viewport: { width: 390, height: 844 },
    executablePath,
    args: headlessChromiumArgs,
  });
  page = browser.pages()[0] ?? (await browser.newPage());
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await pubsub?.close();
});

async function signIn(): Promise<void> {
  await page.goto(`${service.url}/app`);
  await page.getByLabel('Bearer token or API key').fill(token);
  await page.getByRole('button', { name: 'Use' }).click();
  // The first authenticated request builds the host's services (Cosmos containers, plans): allow for it.
  await expect
    .poll(() => page.locator('#signin-status').textContent(), { timeout: 20_000 })
    .toBe('Signed in.');
}

describe('progress page in Chromium', () => {
  it('submits a sample story, shows every iteration complete live, and offers the result', async () => {
    await signIn();
    await page
      .getByLabel('Or upload a text or markdown file')
      .setInputFiles(path.join(sampleStoriesDir, 'bank-transfer.md'));
    // The story's front matter chose the product type.
    await expect.poll(() => page.getByLabel('Product type').inputValue()).toBe('mobile-native');
    expect(await page.getByLabel('User story').inputValue()).toContain('bank customer');
    await page.getByLabel('Mode').selectOption('workflow');
    await page.getByRole('button', { name: 'Start' }).click();

    await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 45_000 }).toBe('completed');
    const steps = page.locator('#steps li');
    const count = await steps.count();
    expect(count).toBeGreaterThan(1);
    expect(await page.locator('#steps li[data-status=complete]').count()).toBe(count);
    expect(await page.locator('#transport').textContent()).toBe('live via Web PubSub');
    expect(await page.locator('#total-cost').textContent()).toMatch(/^\$\d+\.\d{4}$/);
    expect(await page.getByLabel('Enhanced story (markdown)').inputValue()).toContain('bank customer');

    const story = readFileSync(path.join(sampleStoriesDir, 'bank-transfer.md'), 'utf8');
    expect(story.startsWith('---')).toBe(true);
    mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
  });

  it('attaches dropped mockups and shows each file’s status, with the reason for a rejected one', async () => {
    await signIn();
    const files = [
      { name: 'login.png', type: 'image/png', base64: png(64, 48).toString('base64') },
      {
        name: 'evil.svg',
        type: 'image/svg+xml',
        base64: svg('<script>alert(1)</script>').toString('base64'),
      },
    ];
    await page.evaluate((dropped) => {
      const transfer = new DataTransfer();
      for (const file of dropped) {
        const bytes = Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], file.name, { type: file.type }));
      }
      const zone = document.getElementById('mockup-drop');
      zone?.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, files);
    const rows = page.locator('#mockup-list li');
    await expect.poll(() => rows.count()).toBe(2);
    await expect
      .poll(() => page.locator('#mockup-list li[data-status=ready]').textContent(), { timeout: 20_000 })
      .toContain('login.png ready · 64×48 px');
    await expect
      .poll(() => page.locator('#mockup-list li[data-status=rejected]').textContent(), { timeout: 20_000 })
      .toContain('(svg_script)');
  });

  it('asks for approval in interactive mode and takes the decision from the keyboard', async () => {
    // Signing in again (the mockup test) reloads the page, so this test writes its own story.
    await page
      .getByLabel('User story')
      .fill('As a bank customer, I want to transfer money to another account so that I can pay my rent.');
    await page.getByRole('checkbox', { name: 'User roles' }).check();
    await page.getByRole('checkbox', { name: 'Validation' }).check();
    await page.getByLabel('Mode').selectOption('interactive');
    await page.getByRole('button', { name: 'Start' }).click();
    const approval = page.locator('#approval');
    await expect.poll(() => approval.isVisible(), { timeout: 20_000 }).toBe(true);
    expect(await page.locator('#approval-iteration').textContent()).toBe('user-roles');
    // The story awaiting approval has the focus; Tab reaches the decision buttons.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.locator('#approval-iteration').textContent(), { timeout: 20_000 })
      .toBe('validation');
    await page.getByRole('button', { name: 'Skip this step' }).click();
    await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 20_000 }).toBe('completed');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download .md' }).click();
    expect((await download).suggestedFilename()).toMatch(/^story-.+\.md$/);
    await page.getByRole('checkbox', { name: 'User roles' }).uncheck();
    await page.getByRole('checkbox', { name: 'Validation' }).uncheck();
  });

  it('cancels a second job mid-run', async () => {
    await page.getByLabel('Mode').selectOption('interactive');
    await page.getByRole('button', { name: 'Start' }).click();
    // The first iteration is running when the job is cancelled.
    await expect
      .poll(() => page.locator('#steps li[data-status=running]').count(), { timeout: 20_000 })
      .toBe(1);
    const jobId = (await page.locator('#form-status').textContent())?.match(/Job (\S+) started/)?.[1];
    expect(jobId).toBeDefined();
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 20_000 }).toBe('cancelled');
    const job = await waitForJob(
      client(service.url, token),
      String(jobId),
      (current) => current.status === 'cancelled',
    );
    expect(job.progress.completed).toBe(0);
    expect(await page.getByRole('button', { name: 'Cancel job' }).isDisabled()).toBe(true);
  });
});
