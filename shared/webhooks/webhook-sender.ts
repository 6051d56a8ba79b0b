import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { AddressGuard } from './address-guard';

/** Resolves a host name to every address it has (the system resolver by default; tests inject their own). */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

// Looked up on the module at call time, so a test's preload can stand in for DNS in a host process.
export const systemResolver: Resolver = (hostname) =>
  dns.promises.lookup(hostname, { all: true, verbatim: true });

export interface WebhookSenderOptions {
  guard: AddressGuard;
  httpsOnly: boolean;
  timeoutMs: number;
  resolve?: Resolver;
  /** The most of a receiver's answer read before the connection is dropped (its body is never kept). */
  maxResponseBytes?: number;
}

/** One attempt's result: a 2xx status is `delivered`; anything else is a failed attempt with a code. */
export interface SendResult {
  delivered: boolean;
  statusCode?: number;
  /** Why it failed: `https_required`, `address_refused`, `redirect_not_followed`, `http_<status>`, ... */
  error?: string;
  /** A short, non-secret explanation (which address range was refused). */
  detail?: string;
  durationMs: number;
}

/**
 * POSTs a signed webhook with the SSRF defences the receiver's URL cannot talk its way around: https only
 * where required; the host resolved once per attempt and EVERY address it resolves to checked (a name that
 * answers one public and one private address is refused); the connection made to the checked address itself
 * (pinned: the host name travels only as `Host` and TLS server name, so no second resolution can swap in
 * another address); redirects never followed; the answer read up to a bound; one deadline for it all.
 */
export class WebhookSender {
  private readonly resolve: Resolver;

  constructor(private readonly options: WebhookSenderOptions) {
    this.resolve = options.resolve ?? systemResolver;
  }

  async send(target: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = Date.now();
    const fail = (error: string, detail?: string, statusCode?: number): SendResult => ({
      delivered: false,
      error,
      ...(detail ? { detail } : {}),
      ...(statusCode ? { statusCode } : {}),
      durationMs: Date.now() - started,
    });
    const url = new URL(target);
    if (url.protocol !== 'https:' && (this.options.httpsOnly || url.protocol !== 'http:')) {
      return fail('https_required');
    }
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let addresses: string[];
    try {
      addresses = isIP(hostname) ? [hostname] : (await this.resolve(hostname)).map((entry) => entry.address);
    } catch {
      return fail('dns_failed');
    }
    if (addresses.length === 0) return fail('dns_failed');
    for (const address of addresses) {
      const refusal = this.options.guard.refusal(address);
      if (refusal) return fail('address_refused', refusal);
    }
    const pinned = addresses[0]!;
    try {
      const statusCode = await this.post(url, hostname, pinned, headers, body);
      if (statusCode >= 200 && statusCode < 300) {
        return { delivered: true, statusCode, durationMs: Date.now() - started };
      }
      if (statusCode >= 300 && statusCode < 400) return fail('redirect_not_followed', undefined, statusCode);
      return fail(`http_${statusCode}`, undefined, statusCode);
    } catch (error: unknown) {
      return fail(error instanceof DeadlineError ? 'timeout' : 'connect_failed');
    }
  }

  private post(url: URL, hostname: string, address: string, headers: Record<string, string>, body: string) {
    const secure = url.protocol === 'https:';
    const limit = this.options.maxResponseBytes ?? 64 * 1024;
    return new Promise<number>((resolve, reject) => {
      const request = (secure ? https : http).request({
        host: address,
        port: url.port || (secure ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        // A fresh connection per attempt: a pooled one might lead to an address checked for another URL.
        agent: false,
        ...(secure && !isIP(hostname) ? { servername: hostname } : {}),
        headers: {
          ...headers,
          host: url.host,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'user-story-agent-webhooks/1',
        },
      });
      const deadline = setTimeout(() => request.destroy(new DeadlineError()), this.options.timeoutMs);
      request.on('response', (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > limit) response.destroy();
        });
        const done = () => {
          clearTimeout(deadline);
          resolve(response.statusCode ?? 0);
        };
        response.on('end', done);
        response.on('close', done);
      });
      request.on('error', (error) => {
        clearTimeout(deadline);
        reject(error);
      });
      request.end(body);
    });
  }
}

class DeadlineError extends Error {
  constructor() {
    super('The webhook receiver did not answer in time.');
  }
}
