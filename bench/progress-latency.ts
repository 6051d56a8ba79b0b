/**
 * Progress latency on the local stack: from the moment an activity emits a progress event (the `at` stamp the
 * event log gives it, before it is written to Cosmos) to (a) an SSE client and (b) a Web PubSub client
 * receiving it. Runs workflow jobs on the offline engine with streamed chunks, so most events are
 * `iteration:progress`. Usage: `npm run build && node dist/bench/progress-latency.js [jobs]`.
 */
import WebSocket from 'ws';
import { rawText, startLocalWebPubSub } from '../local/web-pubsub/server';
import { readSse } from '../test/support/sse';
import { client, startService } from '../test/support/service';

interface Pushed {
  type: string;
  event?: string;
  ackId?: number;
  data?: { seq: number; event: string; at: string };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function summary(name: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `${name.padEnd(12)} n=${String(sorted.length).padStart(4)}  p50=${percentile(sorted, 50)} ms  p95=${percentile(sorted, 95)} ms  max=${sorted.at(-1) ?? NaN} ms`;
}

async function main(): Promise<void> {
  const jobs = Number(process.argv[2] ?? 6);
  const pubsub = await startLocalWebPubSub();
  const service = await startService({
    OFFLINE_LATENCY_MS: '1000',
    WEB_PUBSUB_CONNECTION_STRING: pubsub.connectionString,
  });
  const token = await service.token({ sub: 'bench', tenantId: 'bench' });
  const api = client(service.url, token);
  const sse: number[] = [];
  const wps: number[] = [];
  try {
    for (let run = 0; run < jobs; run++) {
      const created = await api.post('/api/v1/jobs', {
        story: 'As a shopper, I want to save items to a wishlist so that I can buy them later.',
        mode: 'workflow',
        iterations: ['user-roles', 'validation', 'accessibility', 'security'],
      });
      const jobId = String(created.json.id);
      const at = new Map<number, number>();
      const sseAt = new Map<number, number>();
      const wpsAt = new Map<number, number>();

      const negotiated = await api.post(`/api/v1/jobs/${jobId}/negotiate`);
      const socket = new WebSocket(String(negotiated.json.url), 'json.webpubsub.azure.v1');
      const joined = new Promise<number>((resolve) => {
        socket.on('message', (raw) => {
          const received = Date.now();
          const frame = JSON.parse(rawText(raw)) as Pushed;
          if (frame.type === 'system' && frame.event === 'connected') resolve(received);
          if (frame.type === 'message' && frame.data) {
            wpsAt.set(frame.data.seq, received);
            at.set(frame.data.seq, Date.parse(frame.data.at));
          }
        });
      });
      const response = await fetch(`${service.url}/api/v1/jobs/${jobId}/stream`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const subscribedAt = Math.max(await joined, Date.now());
      for await (const event of readSse(response)) {
        sseAt.set(Number(event.id), Date.now());
        if (['complete', 'cancelled', 'error'].includes(event.event)) break;
      }
      // Let the last push arrive, then compare per event; replayed events (emitted before both clients were
      // listening) measure the replay, not the push, and are left out.
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.close();
      for (const [seq, emitted] of at) {
        if (emitted < subscribedAt) continue;
        const viaSse = sseAt.get(seq);
        const viaWps = wpsAt.get(seq);
        if (viaSse !== undefined) sse.push(viaSse - emitted);
        if (viaWps !== undefined) wps.push(viaWps - emitted);
      }
    }
    process.stdout.write(`progress latency, activity emit -> client receive, ${jobs} workflow jobs\n`);
    process.stdout.write(`${summary('SSE', sse)}\n${summary('Web PubSub', wps)}\n`);
  } finally {
    await service.stop();
    await pubsub.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
