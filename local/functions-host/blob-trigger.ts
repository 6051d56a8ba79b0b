import { BlobServiceClient, RestError, type ContainerClient } from '@azure/storage-blob';
import type { Logger } from '../../shared/logger';
import type { FunctionInvoker, HostExtension, RegisteredFunction } from './extension';
import { resolveSettingReferences, storageConnectionFor } from './settings';

export interface BlobTriggerOptions {
  logger: Logger;
  /** Shared by every host process of one app, so receipts make a blob fire once across all of them. */
  hostId: string;
  pollIntervalMs: number;
  /** A claim older than this is considered abandoned (its process died) and is taken over. */
  claimTimeoutMs: number;
  /** Attempts before a blob is marked poisoned, as the host's `maxDequeueCount` (5). */
  maxAttempts: number;
}

interface BlobPath {
  container: string;
  prefix: string;
  pattern: RegExp;
  names: string[];
}

/** Parses `container/some/{name}.png` into the container, the list prefix and a matcher for the rest. */
export function parseBlobPath(path: string): BlobPath {
  const [container = '', ...rest] = path.split('/');
  const template = rest.join('/');
  const names: string[] = [];
  const firstParam = template.indexOf('{');
  const prefix = firstParam < 0 ? template : template.slice(0, firstParam);
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const param = /^\{([^}]+)\}$/.exec(part);
      if (!param?.[1]) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1]);
      return '(.+)';
    })
    .join('');
  return { container, prefix, pattern: new RegExp(`^${source}$`), names };
}

const receiptsContainer = 'azure-webjobs-hosts';
type ReceiptStatus = 'running' | 'done' | 'poisoned';

/**
 * Fires blob triggers by polling containers, with receipts in `azure-webjobs-hosts` keyed by blob ETag as the
 * real host keeps them: a blob version fires once across restarts and across host processes sharing storage.
 */
export class BlobTriggerExtension implements HostExtension {
  readonly name = 'blobs';
  readonly triggerTypes = ['blobTrigger'];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: BlobTriggerOptions) {}

  async start(invoker: FunctionInvoker): Promise<void> {
    const watches = invoker
      .list()
      .filter((fn) => fn.trigger.type === 'blobTrigger')
      .map((fn) => {
        const service = BlobServiceClient.fromConnectionString(storageConnectionFor(fn.trigger.connection));
        const path = parseBlobPath(resolveSettingReferences(String(fn.trigger.path)));
        return {
          fn,
          path,
          blobs: service.getContainerClient(path.container),
          receipts: service.getContainerClient(receiptsContainer),
        };
      });
    if (watches.length === 0) return;
    for (const watch of watches) {
      await watch.blobs.createIfNotExists();
      await watch.receipts.createIfNotExists();
    }
    const poll = async (): Promise<void> => {
      for (const watch of watches) {
        if (this.stopped) return;
        try {
          await this.scan(invoker, watch.fn, watch.path, watch.blobs, watch.receipts);
        } catch (error: unknown) {
          this.options.logger.warn({ err: error, functionName: watch.fn.name }, 'blob scan failed');
        }
      }
      if (!this.stopped) this.timer = setTimeout(() => void poll(), this.options.pollIntervalMs);
    };
    await poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  private async scan(
    invoker: FunctionInvoker,
    fn: RegisteredFunction,
    path: BlobPath,
    blobs: ContainerClient,
    receipts: ContainerClient,
  ): Promise<void> {
    for await (const blob of blobs.listBlobsFlat({ prefix: path.prefix })) {
      if (this.stopped) return;
      const match = path.pattern.exec(blob.name);
      if (!match) continue;
      const etag = (blob.properties.etag ?? '').replace(/"/g, '');
      const receipt = receipts.getBlockBlobClient(
        `blobreceipts/${this.options.hostId}/${fn.name}/${etag}/${path.container}/${blob.name}`,
      );
      if (!(await this.claim(receipt))) continue;
      const params: Record<string, string> = {};
      path.names.forEach((name, index) => {
        params[name] = match[index + 1] ?? '';
      });
      const work = this.run(invoker, fn, blobs, blob.name, params, receipt).finally(() =>
        this.inFlight.delete(work),
      );
      this.inFlight.add(work);
    }
  }

  /** Creates the receipt if absent, or takes over one whose claimant died; false when someone else owns it. */
  private async claim(receipt: ReturnType<ContainerClient['getBlockBlobClient']>): Promise<boolean> {
    const metadata = { status: 'running', claimedat: new Date().toISOString() };
    try {
      await receipt.upload('', 0, { metadata, conditions: { ifNoneMatch: '*' } });
      return true;
    } catch (error: unknown) {
      if (!(error instanceof RestError) || (error.statusCode !== 409 && error.statusCode !== 412))
        throw error;
    }
    const existing = await receipt.getProperties();
    const status = existing.metadata?.status as ReceiptStatus | undefined;
    const claimedAt = Date.parse(existing.metadata?.claimedat ?? '');
    if (status !== 'running' || Date.now() - claimedAt < this.options.claimTimeoutMs) return false;
    try {
      await receipt.upload('', 0, { metadata, conditions: { ifMatch: existing.etag } });
      return true;
    } catch (error: unknown) {
      if (error instanceof RestError && error.statusCode === 412) return false;
      throw error;
    }
  }

  private async run(
    invoker: FunctionInvoker,
    fn: RegisteredFunction,
    blobs: ContainerClient,
    name: string,
    params: Record<string, string>,
    receipt: ReturnType<ContainerClient['getBlockBlobClient']>,
  ): Promise<void> {
    const blob = blobs.getBlockBlobClient(name);
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      try {
        const properties = await blob.getProperties();
        const content = await blob.downloadToBuffer();
        const triggerMetadata: Record<string, { string?: string; json?: string }> = {
          BlobTrigger: { string: `${blobs.containerName}/${name}` },
          Uri: { string: blob.url },
          Properties: {
            json: JSON.stringify({
              ContentType: properties.contentType,
              Length: properties.contentLength,
              ETag: properties.etag,
            }),
          },
          Metadata: { json: JSON.stringify(properties.metadata ?? {}) },
        };
        for (const [key, value] of Object.entries(params)) triggerMetadata[key] = { string: value };
        await invoker.invoke(fn.name, { triggerData: { bytes: content }, triggerMetadata });
        await receipt.setMetadata({ status: 'done', completedat: new Date().toISOString() });
        return;
      } catch (error: unknown) {
        this.options.logger.warn(
          { err: error, functionName: fn.name, blob: name, attempt },
          'blob trigger attempt failed',
        );
      }
    }
    await receipt.setMetadata({ status: 'poisoned', completedat: new Date().toISOString() });
    this.options.logger.error(
      { functionName: fn.name, blob: name },
      'blob trigger gave up after all attempts',
    );
  }
}
