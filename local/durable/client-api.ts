/**
 * The durable client HTTP API, as the durable-functions client calls it when the binding carries an
 * `rpcBaseUrl` (start, status, list, raise event, terminate, suspend/resume, purge), and under the public
 * webhook paths (`/runtime/webhooks/durabletask/...`) that `createCheckStatusResponse` links to.
 * Status codes and bodies follow what `DurableClient` expects (read from durable-functions 3.x).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Logger } from '../../shared/logger';
import { EventType, type HistoryEvent } from './history';
import type { InstanceMessage } from './messages';
import { isTerminal, runtimeStatuses, type InstanceState, type TaskHubStore } from './task-hub-store';

/** Path prefixes served; the first is the RPC base the binding advertises. */
export const RPC_PREFIX = '/durabletask/';
export const WEBHOOK_PREFIX = '/runtime/webhooks/durabletask/';

const eventTypeNames = new Map<number, string>(
  Object.entries(EventType).map(([name, value]) => [value, name]),
);

const listQuerySchema = z.object({
  runtimeStatus: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : v.split(',')))
    .pipe(z.array(z.enum(runtimeStatuses)).optional()),
  createdTimeFrom: z.iso.datetime({ offset: true }).optional(),
  createdTimeTo: z.iso.datetime({ offset: true }).optional(),
});

interface Reply {
  status: number;
  body?: unknown;
}

/** What the client API needs: the task hub, where to listen, and how to wake the runtime. */
export interface ClientApiOptions {
  store: TaskHubStore;
  port: number;
  logger: Logger;
  /** Wakes the runtime for an instance that just got work. */
  wake(instanceId: string): void;
  /** Public base URL for the management links (`statusQueryGetUri`, ...). */
  managementBaseUrl(): string;
  taskHubName: string;
}

/** The HTTP server behind the binding's `rpcBaseUrl`. */
export class DurableClientApi {
  private server: http.Server | undefined;

  constructor(private readonly options: ClientApiOptions) {}

  async listen(): Promise<number> {
    const server = http.createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Handles one request; exposed so the Functions host can forward its `/runtime/webhooks/durabletask` paths. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      const body = await readBody(req);
      reply = await this.route(req.method ?? 'GET', new URL(req.url ?? '/', 'http://local'), body);
    } catch (error: unknown) {
      this.options.logger.error({ err: error, url: req.url }, 'durable client API request failed');
      reply = { status: 500, body: { message: 'internal error in the local durable runtime' } };
    }
    const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(text);
  }

  private async route(method: string, url: URL, body: string): Promise<Reply> {
    const prefix = [RPC_PREFIX, WEBHOOK_PREFIX].find((p) => url.pathname.startsWith(p));
    if (prefix === undefined) return { status: 404, body: { message: 'not a durable task path' } };
    const parts = url.pathname
      .slice(prefix.length)
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    const [resource, first, action, extra] = parts;
    const query = url.searchParams;

    if (resource === 'orchestrators' && method === 'POST' && first !== undefined) {
      return this.start(first, action ?? randomUUID().replace(/-/g, ''), body);
    }
    if (resource === 'entities')
      return { status: 501, body: 'Durable entities are not supported by the local durable runtime.' };
    if (resource !== 'instances') return { status: 404, body: { message: 'unknown durable task resource' } };

    if (first === undefined) {
      if (method === 'GET') return this.list(query);
      if (method === 'DELETE') return this.purgeBy(query);
      return { status: 405 };
    }
    if (action === undefined) {
      if (method === 'GET') return this.status(first, query);
      if (method === 'DELETE') {
        const existed = await this.options.store.purge(first);
        return existed ? { status: 200, body: { instancesDeleted: 1 } } : { status: 404 };
      }
      return { status: 405 };
    }
    if (method !== 'POST') return { status: 405 };
    const reason = query.get('reason') ?? '';
    switch (action) {
      case 'raiseEvent':
        if (extra === undefined) return { status: 400, body: 'missing event name' };
        return this.send(first, { type: 'eventRaised', name: extra, input: body === '' ? undefined : body });
      case 'terminate':
        return this.send(first, { type: 'terminate', reason });
      case 'suspend':
        return this.send(first, { type: 'suspend', reason });
      case 'resume':
        return this.send(first, { type: 'resume', reason });
      case 'rewind':
        return { status: 501, body: 'Rewind is not supported by the local durable runtime.' };
      default:
        return { status: 404 };
    }
  }

  private async start(name: string, instanceId: string, body: string): Promise<Reply> {
    if (body !== '' && !isJson(body)) return { status: 400, body: 'The request body must be JSON.' };
    const created = await this.options.store.createInstance({
      instanceId,
      name,
      input: body,
      now: new Date(),
    });
    if (!created)
      return { status: 409, body: `An instance with ID '${instanceId}' already exists and is running.` };
    this.options.wake(instanceId);
    return { status: 202, body: { id: instanceId, ...this.managementUrls(instanceId) } };
  }

  private async send(instanceId: string, message: InstanceMessage): Promise<Reply> {
    const state = await this.options.store.readInstance(instanceId);
    if (state === undefined) return { status: 404 };
    if (isTerminal(state.runtimeStatus)) return { status: 410 };
    await this.options.store.send(instanceId, state.generation, message);
    this.options.wake(instanceId);
    return { status: 202 };
  }

  private async status(instanceId: string, query: URLSearchParams): Promise<Reply> {
    const state = await this.options.store.readInstance(instanceId);
    if (state === undefined) return { status: 404 };
    const body: Record<string, unknown> = statusBody(state, query.get('showInput') !== 'false');
    if (query.get('showHistory') === 'true') {
      const events = await this.options.store.readHistory(instanceId, state.generation, state.historyLength);
      body['historyEvents'] = events.map((e) => publicEvent(e, query.get('showHistoryOutput') === 'true'));
      body['history'] = body['historyEvents'];
    }
    const status = state.runtimeStatus;
    const code = status === 'Completed' ? 200 : status === 'Failed' || status === 'Terminated' ? 400 : 202;
    return { status: code, body };
  }

  private async filtered(query: URLSearchParams): Promise<InstanceState[] | Reply> {
    const parsed = listQuerySchema.safeParse(Object.fromEntries(query));
    if (!parsed.success) return { status: 400, body: parsed.error.message };
    const { runtimeStatus, createdTimeFrom, createdTimeTo } = parsed.data;
    const from = createdTimeFrom === undefined ? undefined : new Date(createdTimeFrom).getTime();
    const to = createdTimeTo === undefined ? undefined : new Date(createdTimeTo).getTime();
    return (await this.options.store.listInstances()).filter((s) => {
      const created = new Date(s.createdTime).getTime();
      return (
        (runtimeStatus === undefined || runtimeStatus.includes(s.runtimeStatus)) &&
        (from === undefined || created >= from) &&
        (to === undefined || created <= to)
      );
    });
  }

  private async list(query: URLSearchParams): Promise<Reply> {
    const states = await this.filtered(query);
    if (!Array.isArray(states)) return states;
    return { status: 200, body: states.map((s) => statusBody(s, query.get('showInput') !== 'false')) };
  }

  private async purgeBy(query: URLSearchParams): Promise<Reply> {
    const states = await this.filtered(query);
    if (!Array.isArray(states)) return states;
    let deleted = 0;
    for (const state of states.filter((s) => isTerminal(s.runtimeStatus))) {
      if (await this.options.store.purge(state.instanceId)) deleted++;
    }
    return deleted === 0 ? { status: 404 } : { status: 200, body: { instancesDeleted: deleted } };
  }

  /** The management links of `createCheckStatusResponse`, with the instance id filled in. */
  managementUrls(instanceId: string): Record<string, string> {
    const templates = managementUrlTemplates(this.options.managementBaseUrl(), this.options.taskHubName);
    const id = encodeURIComponent(instanceId);
    return Object.fromEntries(
      Object.entries(templates)
        .filter(([key]) => key !== 'id')
        .map(([key, value]) => [key, value.replace(INSTANCE_ID_PLACEHOLDER, id)]),
    );
  }
}

export const INSTANCE_ID_PLACEHOLDER = 'INSTANCEID';

/** The `managementUrls` of the client binding, in the extension's format (`id` is the placeholder). */
export function managementUrlTemplates(baseUrl: string, taskHubName: string): Record<string, string> {
  const instance = `${baseUrl}${WEBHOOK_PREFIX}instances/${INSTANCE_ID_PLACEHOLDER}`;
  const hub = `taskHub=${encodeURIComponent(taskHubName)}&connection=Storage`;
  return {
    id: INSTANCE_ID_PLACEHOLDER,
    statusQueryGetUri: `${instance}?${hub}`,
    sendEventPostUri: `${instance}/raiseEvent/{eventName}?${hub}`,
    terminatePostUri: `${instance}/terminate?reason={text}&${hub}`,
    rewindPostUri: `${instance}/rewind?reason={text}&${hub}`,
    purgeHistoryDeleteUri: `${instance}?${hub}`,
    restartPostUri: `${instance}/restart?${hub}`,
    suspendPostUri: `${instance}/suspend?reason={text}&${hub}`,
    resumePostUri: `${instance}/resume?reason={text}&${hub}`,
  };
}

function statusBody(state: InstanceState, showInput: boolean): Record<string, unknown> {
  return {
    name: state.name,
    instanceId: state.instanceId,
    runtimeStatus: state.runtimeStatus,
    input: showInput ? parseOrNull(state.input) : null,
    customStatus: parseOrNull(state.customStatus),
    output: parseOrNull(state.output),
    createdTime: state.createdTime,
    lastUpdatedTime: state.lastUpdatedTime,
  };
}

/** History as the status API shows it: event type names, no runtime bookkeeping, payloads on request. */
function publicEvent(event: HistoryEvent, withOutput: boolean): Record<string, unknown> {
  const { EventType: type, IsPlayed: _played, MessageId: _message, ...rest } = event;
  const shown: Record<string, unknown> = { EventType: eventTypeNames.get(type) ?? String(type), ...rest };
  if (!withOutput) {
    delete shown['Result'];
    delete shown['Input'];
  }
  return shown;
}

function parseOrNull(text: string): unknown {
  return text === '' ? null : (JSON.parse(text) as unknown);
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}
