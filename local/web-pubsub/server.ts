import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify, type JWTPayload } from 'jose';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';

/**
 * A local stand-in for Azure Web PubSub, enough for the app and its clients to run unchanged offline:
 * - the REST API `@azure/web-pubsub` calls (send to hub, group or user; add or remove a user to a group),
 *   authenticated like the service: a Bearer JWT, HS256 with the access key, `aud` = the request URL;
 * - client connections at `/client/hubs/{hub}?access_token=...` speaking `json.webpubsub.azure.v1`, whose
 *   token claims decide which groups a connection starts in (`webpubsub.group`) and may join or send to
 *   (`role`: `webpubsub.joinLeaveGroup[.<group>]`, `webpubsub.sendToGroup[.<group>]`).
 * The reliable subprotocol is not offered.
 */
export const clientProtocol = 'json.webpubsub.azure.v1';

export interface LocalWebPubSubOptions {
  port?: number;
  host?: string;
  /** Access key the tokens are signed with; random when not given. */
  accessKey?: string;
}

/** A REST call the server accepted, kept so tests can check what the app sent where. */
export interface ReceivedSend {
  method: string;
  path: string;
  hub: string;
  group?: string;
  user?: string;
  contentType: string;
  body: string;
  at: number;
}

export interface LocalWebPubSub {
  /** `http://host:port`; clients connect to the `ws://` form of it. */
  url: string;
  accessKey: string;
  /** For `WEB_PUBSUB_CONNECTION_STRING`. */
  connectionString: string;
  received: ReceivedSend[];
  close(): Promise<void>;
}

interface Connection {
  id: string;
  hub: string;
  userId: string | undefined;
  roles: Set<string>;
  groups: Set<string>;
  socket: WebSocket;
  subprotocol: boolean;
}

const stringList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]));

const clientClaimsSchema = z.object({
  sub: z.string().optional(),
  role: stringList,
  'webpubsub.group': stringList,
});

const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('joinGroup'), group: z.string().min(1), ackId: z.number().int().optional() }),
  z.object({ type: z.literal('leaveGroup'), group: z.string().min(1), ackId: z.number().int().optional() }),
  z.object({
    type: z.literal('sendToGroup'),
    group: z.string().min(1),
    ackId: z.number().int().optional(),
    dataType: z.enum(['json', 'text', 'binary']).default('json'),
    data: z.unknown(),
    noEcho: z.boolean().default(false),
  }),
  z.object({ type: z.literal('event'), ackId: z.number().int().optional() }).loose(),
]);

const restRoutes: {
  pattern: RegExp;
  method: string;
  kind: 'hub' | 'group' | 'user' | 'addUser' | 'removeUser';
}[] = [
  { pattern: /^\/api\/hubs\/([^/]+)\/:send$/, method: 'POST', kind: 'hub' },
  { pattern: /^\/api\/hubs\/([^/]+)\/groups\/([^/]+)\/:send$/, method: 'POST', kind: 'group' },
  { pattern: /^\/api\/hubs\/([^/]+)\/users\/([^/]+)\/:send$/, method: 'POST', kind: 'user' },
  { pattern: /^\/api\/hubs\/([^/]+)\/users\/([^/]+)\/groups\/([^/]+)$/, method: 'PUT', kind: 'addUser' },
  {
    pattern: /^\/api\/hubs\/([^/]+)\/users\/([^/]+)\/groups\/([^/]+)$/,
    method: 'DELETE',
    kind: 'removeUser',
  },
];

/** A WebSocket message as text, whichever buffer shape `ws` hands it over in. */
export function rawText(raw: RawData): string {
  if (Array.isArray(raw)) return Buffer.concat(raw).toString('utf8');
  if (raw instanceof ArrayBuffer) return Buffer.from(new Uint8Array(raw)).toString('utf8');
  return raw.toString('utf8');
}

function allows(connection: Connection, permission: string, group: string): boolean {
  return connection.roles.has(permission) || connection.roles.has(`${permission}.${group}`);
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The server's frame for a REST send: JSON stays JSON, anything else is text. */
function outgoing(contentType: string, body: string): { dataType: 'json' | 'text'; data: unknown } {
  if (/^application\/json/i.test(contentType)) {
    try {
      return { dataType: 'json', data: JSON.parse(body) };
    } catch {
      return { dataType: 'text', data: body };
    }
  }
  return { dataType: 'text', data: body };
}

/** Starts the server; resolves once it listens. */
export async function startLocalWebPubSub(options: LocalWebPubSubOptions = {}): Promise<LocalWebPubSub> {
  const accessKey = options.accessKey ?? randomBytes(32).toString('base64url');
  const secret = new TextEncoder().encode(accessKey);
  const connections = new Set<Connection>();
  const received: ReceivedSend[] = [];
  const host = options.host ?? '127.0.0.1';

  const verify = async (token: string, audience?: string): Promise<JWTPayload> =>
    (await jwtVerify(token, secret, { algorithms: ['HS256'], ...(audience ? { audience } : {}) })).payload;

  const deliver = (targets: Iterable<Connection>, frame: Record<string, unknown>, raw: unknown) => {
    for (const connection of targets) {
      if (connection.socket.readyState !== connection.socket.OPEN) continue;
      connection.socket.send(
        connection.subprotocol ? JSON.stringify(frame) : typeof raw === 'string' ? raw : JSON.stringify(raw),
      );
    }
  };

  const server = http.createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', `http://${request.headers.host ?? host}`);
      const route = restRoutes.find(
        (candidate) => candidate.method === request.method && candidate.pattern.test(url.pathname),
      );
      if (!route) {
        response.writeHead(404).end();
        return;
      }
      const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      try {
        if (!token) throw new Error('no token');
        // The SDK signs each request for its own full URL, so a token cannot be replayed against another.
        await verify(token, url.toString());
      } catch {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ code: 'Unauthorized', message: 'Invalid or missing access token.' }));
        return;
      }
      const match = route.pattern.exec(url.pathname) ?? [];
      const hub = decodeURIComponent(match[1] ?? '');
      const second = decodeURIComponent(match[2] ?? '');
      const third = decodeURIComponent(match[3] ?? '');
      const body = await readBody(request);
      const contentType = request.headers['content-type'] ?? 'text/plain';
      const inHub = [...connections].filter((connection) => connection.hub === hub);
      const { dataType, data } = outgoing(contentType, body);
      if (route.kind === 'addUser' || route.kind === 'removeUser') {
        for (const connection of inHub.filter((candidate) => candidate.userId === second)) {
          if (route.kind === 'addUser') connection.groups.add(third);
          else connection.groups.delete(third);
        }
        response.writeHead(200).end();
        return;
      }
      received.push({
        method: request.method ?? '',
        path: url.pathname,
        hub,
        ...(route.kind === 'group' ? { group: second } : {}),
        ...(route.kind === 'user' ? { user: second } : {}),
        contentType,
        body,
        at: Date.now(),
      });
      if (route.kind === 'group') {
        deliver(
          inHub.filter((connection) => connection.groups.has(second)),
          { type: 'message', from: 'group', group: second, dataType, data },
          data,
        );
      } else {
        const targets = route.kind === 'user' ? inHub.filter((c) => c.userId === second) : inHub;
        deliver(targets, { type: 'message', from: 'server', dataType, data }, data);
      }
      response.writeHead(202).end();
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });

  const sockets = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has(clientProtocol) ? clientProtocol : false),
  });

  server.on('upgrade', (request, socket, head) => {
    void (async () => {
      const url = new URL(request.url ?? '/', `http://${request.headers.host ?? host}`);
      const hub = /^\/client\/hubs\/([^/]+)$/.exec(url.pathname)?.[1];
      const token =
        url.searchParams.get('access_token') ??
        /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ??
        undefined;
      let claims: z.infer<typeof clientClaimsSchema>;
      try {
        if (!hub || !token) throw new Error('no hub or token');
        const payload = await verify(token);
        // The audience names the endpoint's client path; the host part may be any name of this machine.
        const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud ?? ''];
        if (!audiences.some((aud) => URL.canParse(aud) && new URL(aud).pathname === url.pathname))
          throw new Error('wrong audience');
        claims = clientClaimsSchema.parse(payload);
      } catch {
        socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      sockets.handleUpgrade(request, socket, head, (ws) => {
        const connection: Connection = {
          id: randomUUID(),
          hub: decodeURIComponent(hub),
          userId: claims.sub,
          roles: new Set(claims.role),
          groups: new Set(claims['webpubsub.group']),
          socket: ws,
          subprotocol: ws.protocol === clientProtocol,
        };
        connections.add(connection);
        ws.on('close', () => connections.delete(connection));
        if (!connection.subprotocol) return;
        ws.send(
          JSON.stringify({
            type: 'system',
            event: 'connected',
            userId: connection.userId ?? null,
            connectionId: connection.id,
          }),
        );
        ws.on('message', (raw) => handleClientMessage(connection, rawText(raw)));
      });
    })();
  });

  const ack = (connection: Connection, ackId: number | undefined, error?: string) => {
    if (ackId === undefined) return;
    connection.socket.send(
      JSON.stringify({
        type: 'ack',
        ackId,
        success: error === undefined,
        ...(error === undefined ? {} : { error: { name: 'Forbidden', message: error } }),
      }),
    );
  };

  const handleClientMessage = (connection: Connection, text: string) => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    const parsed = clientMessageSchema.safeParse(json);
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.type === 'joinGroup' || message.type === 'leaveGroup') {
      if (!allows(connection, 'webpubsub.joinLeaveGroup', message.group)) {
        ack(connection, message.ackId, `No permission to join or leave group ${message.group}.`);
        return;
      }
      if (message.type === 'joinGroup') connection.groups.add(message.group);
      else connection.groups.delete(message.group);
      ack(connection, message.ackId);
    } else if (message.type === 'sendToGroup') {
      if (!allows(connection, 'webpubsub.sendToGroup', message.group)) {
        ack(connection, message.ackId, `No permission to send to group ${message.group}.`);
        return;
      }
      const targets = [...connections].filter(
        (other) =>
          other.hub === connection.hub &&
          other.groups.has(message.group) &&
          !(message.noEcho && other === connection),
      );
      deliver(
        targets,
        {
          type: 'message',
          from: 'group',
          fromUserId: connection.userId ?? null,
          group: message.group,
          dataType: message.dataType,
          data: message.data,
        },
        message.data,
      );
      ack(connection, message.ackId);
    } else {
      ack(connection, message.ackId);
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  return {
    url,
    accessKey,
    connectionString: `Endpoint=${url};Port=${port};AccessKey=${accessKey};Version=1.0;`,
    received,
    close: async () => {
      for (const connection of connections) connection.socket.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
