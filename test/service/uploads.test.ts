import { randomUUID } from 'node:crypto';
import { CosmosClient } from '@azure/cosmos';
import { BlobServiceClient, BlockBlobClient, RestError } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpeg, pdf, png, svg, zipEnd } from '../support/mockup-files';
import { client, startService, type Client, type ServiceUnderTest } from '../support/service';

/**
 * Uploads end to end against Azurite, the Cosmos emulator and the local host: the upload URL from the API,
 * the PUT through @azure/storage-blob, the blob trigger deciding, the retention timer removing.
 */
let service: ServiceUnderTest;
let alice: Client;
let blobs: BlobServiceClient;
const tenantId = 'tenant-uploads';
const tenMegabytes = 10 * 1024 * 1024;

beforeAll(async () => {
  service = await startService({
    LOCAL_BLOB_POLL_MS: '200',
    UPLOAD_RETENTION_SCHEDULE: '*/2 * * * * *',
    UPLOAD_PENDING_WAIT_SECONDS: '1',
  });
  alice = client(service.url, await service.token({ sub: 'alice', tenantId }));
  blobs = BlobServiceClient.fromConnectionString(service.azurite.connectionString);
});

afterAll(async () => {
  await service?.stop();
});

type ContentType = 'image/png' | 'image/jpeg' | 'application/pdf' | 'image/svg+xml';

async function requestUpload(api: Client, fileName: string, contentType: ContentType, sizeBytes: number) {
  const response = await api.post('/api/v1/uploads', { fileName, contentType, sizeBytes });
  expect(response.status, JSON.stringify(response.json)).toBe(201);
  return response.json as { uploadId: string; uploadUrl: string; expiresAt: string };
}

async function waitForDecision(api: Client, uploadId: string): Promise<Record<string, any>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await api.get(`/api/v1/uploads/${uploadId}`);
    expect(response.status).toBe(200);
    if (response.json.status !== 'pending') return response.json;
    if (Date.now() > deadline) throw new Error(`Upload ${uploadId} stayed pending.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Requests an upload for `bytes`, PUTs them through the SDK and waits for the trigger's decision. */
async function upload(
  bytes: Buffer,
  contentType: ContentType,
  options: { fileName?: string; declaredBytes?: number } = {},
) {
  const ticket = await requestUpload(
    alice,
    options.fileName ?? 'mockup',
    contentType,
    options.declaredBytes ?? bytes.length,
  );
  await new BlockBlobClient(ticket.uploadUrl).uploadData(bytes, {
    blobHTTPHeaders: { blobContentType: contentType },
  });
  return { ticket, decision: await waitForDecision(alice, ticket.uploadId) };
}

const blobExists = (name: string) => blobs.getContainerClient('uploads').getBlockBlobClient(name).exists();
const blobNameOf = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').slice(3).join('/'));

describe('upload intake', () => {
  it('refuses a wrong declared type with 415 and an oversized one with 413, before any URL exists', async () => {
    const html = await alice.post('/api/v1/uploads', {
      fileName: 'page.html',
      contentType: 'text/html',
      sizeBytes: 10,
    });
    expect(html.status).toBe(415);
    expect(html.json.code).toBe('unsupported_media_type');
    expect(html.json.uploadUrl).toBeUndefined();
    const big = await alice.post('/api/v1/uploads', {
      fileName: 'big.png',
      contentType: 'image/png',
      sizeBytes: tenMegabytes + 1,
    });
    expect(big.status).toBe(413);
    expect(big.json.code).toBe('payload_too_large');
  });

  it('issues a URL for exactly <tenant>/<uploadId>/<safe name>, usable once and for nothing else', async () => {
    const bytes = png(8, 8);
    const ticket = await requestUpload(alice, '../../etc/My Mockup.html', 'image/png', bytes.length);
    expect(blobNameOf(ticket.uploadUrl)).toBe(`${tenantId}/${ticket.uploadId}/My-Mockup.png`);
    expect(Date.parse(ticket.expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);

    const elsewhere = ticket.uploadUrl.replace(ticket.uploadId, 'someone-elses-upload');
    const refused = await new BlockBlobClient(elsewhere).uploadData(bytes).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RestError);
    expect((refused as RestError).statusCode).toBe(403);

    await new BlockBlobClient(ticket.uploadUrl).uploadData(bytes);
    const again = await new BlockBlobClient(ticket.uploadUrl).uploadData(png(9, 9)).catch((e: unknown) => e);
    expect((again as RestError).statusCode).toBe(403);
    const read = await new BlockBlobClient(ticket.uploadUrl).download().catch((e: unknown) => e);
    expect((read as RestError).statusCode).toBe(403);
    expect((await waitForDecision(alice, ticket.uploadId)).status).toBe('ready');
  });

  it('hides another tenant’s upload: 404, never data', async () => {
    const { ticket } = await upload(png(4, 4), 'image/png');
    const mallory = client(service.url, await service.token({ sub: 'mallory', tenantId: 'tenant-other' }));
    const response = await mallory.get(`/api/v1/uploads/${ticket.uploadId}`);
    expect(response.status).toBe(404);
    expect(response.json.code).toBe('not_found');
    expect(JSON.stringify(response.json)).not.toContain('mockup');
  });
});

describe('the blob trigger', () => {
  it('marks a good file ready once, with what it read from it', async () => {
    const { ticket, decision } = await upload(png(120, 80), 'image/png', { fileName: 'login.png' });
    expect(decision).toMatchObject({ status: 'ready', width: 120, height: 80, contentType: 'image/png' });
    const document = await upload(await pdf({ pages: 2, text: 'Checkout' }), 'application/pdf');
    expect(document.decision).toMatchObject({ status: 'ready', pages: 2 });

    const name = blobNameOf(ticket.uploadUrl);
    const receipts: string[] = [];
    for await (const blob of blobs
      .getContainerClient('azure-webjobs-hosts')
      .listBlobsFlat({ prefix: 'blobreceipts/', includeMetadata: true })) {
      if (blob.name.endsWith(`/uploads/${name}`)) receipts.push(blob.metadata?.status ?? '');
    }
    expect(receipts).toEqual(['done']);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const later = await alice.get(`/api/v1/uploads/${ticket.uploadId}`);
    expect(later.json.checkedAt).toBe(decision.checkedAt);
    expect(await blobExists(name)).toBe(true);
  });

  it('rejects each hostile file with its reason and deletes it', async () => {
    const cases: [string, Buffer, ContentType, string][] = [
      [
        'lies about its type',
        Buffer.from('<html><script>alert(1)</script></html>'),
        'image/png',
        'type_mismatch',
      ],
      ['SVG with script', svg('<script>alert(1)</script>'), 'image/svg+xml', 'svg_script'],
      [
        'SVG with an external image',
        svg('<image href="https://evil.test/x.png"/>'),
        'image/svg+xml',
        'svg_external_reference',
      ],
      ['PDF with JavaScript', await pdf({ javascript: true }), 'application/pdf', 'pdf_javascript'],
      ['encrypted PDF', await pdf({ encrypted: true }), 'application/pdf', 'pdf_encrypted'],
      ['PNG that is also a ZIP', Buffer.concat([png(4, 4), zipEnd()]), 'image/png', 'polyglot'],
      ['PNG that is also HTML', png(4, 4, { text: '<html><body onload=alert(1)>' }), 'image/png', 'polyglot'],
      [
        'decompression bomb',
        png(4, 4, { claimed: { width: 60_000, height: 60_000 } }),
        'image/png',
        'image_too_large',
      ],
      ['JPEG with a ZIP appended', Buffer.concat([jpeg(10, 10), zipEnd()]), 'image/jpeg', 'polyglot'],
    ];
    const results = await Promise.all(
      cases.map(async ([, bytes, contentType]) => upload(bytes, contentType)),
    );
    for (const [index, [label, , , reason]] of cases.entries()) {
      const { ticket, decision } = results[index]!;
      expect(decision.status, label).toBe('rejected');
      expect(decision.reason, label).toBe(reason);
      expect(decision.detail, label).toEqual(expect.any(String));
      expect(await blobExists(blobNameOf(ticket.uploadUrl)), label).toBe(false);
    }
  });

  it('rejects a file whose length is not the declared one', async () => {
    const { decision } = await upload(png(4, 4), 'image/png', { declaredBytes: png(4, 4).length + 10 });
    expect(decision).toMatchObject({ status: 'rejected', reason: 'size_mismatch' });
  });

  it('rejects a zero-byte file', async () => {
    const ticket = await requestUpload(alice, 'empty.png', 'image/png', 1);
    await new BlockBlobClient(ticket.uploadUrl).uploadData(Buffer.alloc(0));
    expect(await waitForDecision(alice, ticket.uploadId)).toMatchObject({
      status: 'rejected',
      reason: 'empty_file',
    });
  });

  it('rejects a PUT of 10 MB + 1 byte although the URL allowed the PUT (the SAS cannot bound the length)', async () => {
    const bytes = Buffer.concat([png(16, 16), Buffer.alloc(tenMegabytes + 1 - png(16, 16).length)]);
    expect(bytes.length).toBe(tenMegabytes + 1);
    const { ticket, decision } = await upload(bytes, 'image/png', { declaredBytes: tenMegabytes });
    expect(decision).toMatchObject({ status: 'rejected', reason: 'too_large' });
    expect(await blobExists(blobNameOf(ticket.uploadUrl))).toBe(false);
  });
});

describe('jobs with uploads', () => {
  const story = 'As a member, I want to sign in with my email so that I can see my bookings.';

  it('accepts only this tenant’s ready uploads and names every offending id', async () => {
    const good = await upload(png(30, 20), 'image/png');
    const bad = await upload(svg('<script>alert(1)</script>'), 'image/svg+xml');
    const mallory = client(service.url, await service.token({ sub: 'mallory', tenantId: 'tenant-other' }));
    const theirs = await (async () => {
      const bytes = png(5, 5);
      const ticket = await requestUpload(mallory, 'theirs.png', 'image/png', bytes.length);
      await new BlockBlobClient(ticket.uploadUrl).uploadData(bytes);
      expect((await waitForDecision(mallory, ticket.uploadId)).status).toBe('ready');
      return ticket.uploadId;
    })();

    const refused = await alice.post('/api/v1/jobs', {
      story,
      uploads: [good.ticket.uploadId, bad.ticket.uploadId, theirs, 'no-such-upload'],
    });
    expect(refused.status).toBe(400);
    expect(refused.json.code).toBe('validation_failed');
    expect(refused.json.detail).toContain(`${bad.ticket.uploadId} (rejected: svg_script)`);
    expect(refused.json.detail).toContain(`${theirs} (not found)`);
    expect(refused.json.detail).toContain('no-such-upload (not found)');
    expect(refused.json.detail).not.toContain(good.ticket.uploadId);

    const accepted = await alice.post('/api/v1/jobs', { story, uploads: [good.ticket.uploadId] });
    expect(accepted.status).toBe(202);
    expect(accepted.json.uploads).toEqual([good.ticket.uploadId]);
  });

  it('waits a bounded time for a pending upload, then says it is still pending', async () => {
    const never = await requestUpload(alice, 'never.png', 'image/png', 100);
    const started = Date.now();
    const refused = await alice.post('/api/v1/jobs', { story, uploads: [never.uploadId] });
    expect(refused.status).toBe(400);
    expect(refused.json.detail).toContain(`${never.uploadId} (still pending)`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });
});

describe('the retention timer', () => {
  it('removes uploads older than the plan’s retention and nothing newer', async () => {
    const admin = client(
      service.url,
      await service.token({ sub: 'root', tenantId: 'platform', roles: ['platform_admin'] }),
    );
    const shortTenant = 'tenant-short-retention';
    const plan = await admin.post('/api/v1/admin/plans', {
      id: 'short-retention',
      name: 'Short retention',
      limits: {
        requestsPerDay: 100,
        tokensPerDay: 1_000_000,
        maxStoryBytes: 10_000,
        maxIterations: 3,
        maxConcurrentJobs: 1,
        maxQueuedJobs: 1,
        requestsPerMinute: 100,
        monthlyBudgetUsd: 10,
        uploadRetentionDays: 1,
      },
    });
    expect(plan.status).toBe(201);
    expect(
      (await admin.patch(`/api/v1/admin/tenants/${shortTenant}/plan`, { planId: 'short-retention' })).status,
    ).toBe(200);

    const cosmos = new CosmosClient({
      endpoint: service.cosmosEndpoint,
      key: 'local-emulator',
      connectionPolicy: { enableEndpointDiscovery: false },
    });
    const records = cosmos.database(service.database).container('uploads');
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    const plant = async (tenant: string, id: string, ageDays: number) => {
      const blobName = `${tenant}/${id}/old.png`;
      const stored = await blobs
        .getContainerClient('uploads')
        .getBlockBlobClient(blobName)
        .uploadData(png(2, 2));
      await records.items.create({
        id,
        tenantId: tenant,
        type: 'upload',
        userId: 'alice',
        fileName: 'old.png',
        contentType: 'image/png',
        sizeBytes: png(2, 2).length,
        blobName,
        status: 'ready',
        facts: { width: 2, height: 2 },
        createdAt: daysAgo(ageDays),
        uploadExpiresAt: daysAgo(ageDays),
        checkedAt: daysAgo(ageDays),
        checkedEtag: (stored.etag ?? '').replace(/"/g, ''),
      });
      return blobName;
    };
    // Planted blobs reach the trigger too; their records are already decided, so it leaves them alone.
    const planted = { oldest: randomUUID(), kept: randomUUID(), shortExpired: randomUUID() };
    const expiredDefault = await plant(tenantId, planted.oldest, 31);
    const keptDefault = await plant(tenantId, planted.kept, 29);
    const expiredShort = await plant(shortTenant, planted.shortExpired, 2);
    const fresh = await upload(png(4, 4), 'image/png');

    const deadline = Date.now() + 20_000;
    while ((await blobExists(expiredDefault)) || (await blobExists(expiredShort))) {
      if (Date.now() > deadline) throw new Error('The retention timer did not remove the old uploads.');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect((await alice.get(`/api/v1/uploads/${planted.oldest}`)).status).toBe(404);
    const shortUser = client(service.url, await service.token({ sub: 'sam', tenantId: shortTenant }));
    expect((await shortUser.get(`/api/v1/uploads/${planted.shortExpired}`)).status).toBe(404);
    expect((await alice.get(`/api/v1/uploads/${planted.kept}`)).json.status).toBe('ready');
    expect(await blobExists(keptDefault)).toBe(true);
    expect((await alice.get(`/api/v1/uploads/${fresh.ticket.uploadId}`)).json.status).toBe('ready');
    expect(await blobExists(blobNameOf(fresh.ticket.uploadUrl))).toBe(true);
  });
});
