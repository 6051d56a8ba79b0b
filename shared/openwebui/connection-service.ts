import { randomBytes } from 'node:crypto';
import type { AuditTrail } from '../audit/audit-trail';
import type { ApiKeyRepository } from '../auth/api-key-repository';
import { issueApiKey } from '../auth/api-keys';
import { authFailure } from '../auth/failures';
import { requireTenantAdmin, type Principal } from '../auth/principal';
import { ALL_USER_SCOPES } from '../auth/scopes';
import { AppError } from '../errors';
import type { SecretStore } from '../secrets/secret-store';
import {
  chatUserId,
  connectionUserId,
  toConnectionView,
  type ConnectionDocument,
  type ConnectionView,
  type CreateConnectionBody,
} from './connection';
import { connectionDocumentId, type ConnectionRepository } from './connection-repository';
import { verifyOpenWebUiUserJwt } from './user-jwt';

export interface ConnectionServiceOptions {
  connections: ConnectionRepository;
  audit: AuditTrail;
  apiKeys: ApiKeyRepository;
  /** Undefined when no secret store is configured (`CONNECTION_SECRETS_KEY` unset): creating one is refused. */
  secrets: SecretStore | undefined;
  /** `API_KEY_PEPPER`, for the connection's key. */
  apiKeyPepper?: string | undefined;
  now?: () => Date;
}

/** Where and how to post progress into a chat of the connection's OpenWebUI. */
export interface ChatEventTarget {
  connectionId: string;
  baseUrl: string;
  apiKey: string;
}

const secretName = (connectionId: string, secret: 'user-jwt-secret' | 'api-key') =>
  `openwebui-${connectionId}-${secret}`;

/**
 * OpenWebUI connections: a tenant admin registers one and gets the key OpenWebUI calls with; calls with that
 * key act as the chat user its signed `X-OpenWebUI-User-Jwt` names (each with their own jobs, quotas and
 * usage), or as the connection itself without one. Secrets go to the secret store and never come back out
 * through the API.
 */
export class ConnectionService {
  private readonly now: () => Date;

  constructor(private readonly options: ConnectionServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  private secretStore(): SecretStore {
    if (!this.options.secrets) {
      throw new AppError(
        'upstream_unavailable',
        'OpenWebUI connections are not available: the service has no secret store (set CONNECTION_SECRETS_KEY).',
      );
    }
    return this.options.secrets;
  }

  /** Registers a connection; the plaintext key is in the answer only. */
  async create(
    principal: Principal,
    tenantId: string,
    body: CreateConnectionBody,
  ): Promise<ConnectionView & { apiKey: string }> {
    requireTenantAdmin(principal, tenantId);
    const secrets = this.secretStore();
    const connectionId = randomBytes(10).toString('hex');
    const scopes = [...(body.scopes ?? ALL_USER_SCOPES)];
    const { plaintext, record } = issueApiKey(
      { tenantId, userId: connectionUserId(connectionId) },
      { name: `OpenWebUI connection: ${body.name}`, scopes, connectionId },
      { pepper: this.options.apiKeyPepper, now: this.now() },
    );
    const document: ConnectionDocument = {
      id: connectionDocumentId(connectionId),
      tenantId,
      type: 'openwebuiConnection',
      connectionId,
      name: body.name,
      ...(body.baseUrl === undefined ? {} : { baseUrl: body.baseUrl }),
      scopes,
      keyId: record.keyId,
      createdAt: this.now().toISOString(),
      createdBy: principal.userId,
      userJwtSecretRef: await secrets.put(secretName(connectionId, 'user-jwt-secret'), body.userJwtSecret),
      ...(body.apiKey === undefined
        ? {}
        : { apiKeyRef: await secrets.put(secretName(connectionId, 'api-key'), body.apiKey) }),
    };
    const view = toConnectionView(document);
    await this.options.audit.recorded(
      {
        tenantId,
        action: 'openwebui_connection.created',
        target: { type: 'openwebuiConnection', id: connectionId },
        details: {
          name: body.name,
          keyId: record.keyId,
          postsProgress: view.postsProgress,
          scopes: scopes.join(' '),
        },
      },
      async () => {
        // The connection first: a key never exists without the connection that gives it meaning.
        await this.options.connections.create(document);
        await this.options.apiKeys.create(record);
      },
    );
    return { ...view, apiKey: plaintext };
  }

  async list(principal: Principal, tenantId: string): Promise<ConnectionView[]> {
    requireTenantAdmin(principal, tenantId);
    return (await this.options.connections.list(tenantId)).map(toConnectionView);
  }

  /** Revokes the connection's key at once and forgets its secrets; another tenant's connection is 404. */
  async delete(principal: Principal, tenantId: string, connectionId: string): Promise<void> {
    requireTenantAdmin(principal, tenantId);
    const connection = await this.options.connections.find(tenantId, connectionId);
    if (!connection) throw new AppError('not_found', `Connection ${connectionId} was not found.`);
    await this.options.audit.recorded(
      {
        tenantId,
        action: 'openwebui_connection.deleted',
        target: { type: 'openwebuiConnection', id: connectionId },
        details: { name: connection.name, keyId: connection.keyId },
      },
      async () => {
        await this.options.apiKeys.revoke(
          tenantId,
          connectionUserId(connectionId),
          connection.keyId,
          this.now().toISOString(),
        );
        await this.options.connections.delete(tenantId, connectionId);
      },
    );
    const secrets = this.secretStore();
    await secrets.remove(secretName(connectionId, 'user-jwt-secret'), connection.userJwtSecretRef);
    if (connection.apiKeyRef !== undefined) {
      await secrets.remove(secretName(connectionId, 'api-key'), connection.apiKeyRef);
    }
  }

  /**
   * Who a call with a connection's key acts as: the chat user of a valid `X-OpenWebUI-User-Jwt` (signed with
   * this connection's secret), else the connection itself. Unsigned `X-OpenWebUI-User-*` headers are never
   * read. An invalid JWT is 401, never a fallback to the connection.
   */
  async callerFor(keyPrincipal: Principal, userJwt: string | undefined): Promise<Principal> {
    const connectionId = keyPrincipal.connectionId;
    if (connectionId === undefined || userJwt === undefined) return keyPrincipal;
    const connection = await this.options.connections.find(keyPrincipal.tenantId, connectionId);
    // Deleting a connection revokes its key first; a key that outlives its connection is no key.
    if (!connection) throw authFailure('unknown_api_key');
    const secret = await this.secretStore().read(
      secretName(connectionId, 'user-jwt-secret'),
      connection.userJwtSecretRef,
    );
    const user = await verifyOpenWebUiUserJwt(userJwt, secret, this.now());
    return {
      ...keyPrincipal,
      userId: chatUserId(connectionId, user.sub),
      ...(user.email === undefined ? {} : { email: user.email }),
      ...(user.name === undefined ? {} : { name: user.name }),
    };
  }

  /** Where to post chat progress for a caller that came through a connection able to post; else undefined. */
  async eventTarget(principal: Principal): Promise<ChatEventTarget | undefined> {
    if (principal.connectionId === undefined) return undefined;
    const connection = await this.options.connections.find(principal.tenantId, principal.connectionId);
    if (!connection?.baseUrl || connection.apiKeyRef === undefined) return undefined;
    const apiKey = await this.secretStore().read(
      secretName(connection.connectionId, 'api-key'),
      connection.apiKeyRef,
    );
    return { connectionId: connection.connectionId, baseUrl: connection.baseUrl, apiKey };
  }
}
