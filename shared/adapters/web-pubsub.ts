import { DefaultAzureCredential } from '@azure/identity';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import type { AppConfig } from '../config';
import { AppError } from '../errors';

/** The slice of Azure Web PubSub the app uses: push JSON to a group, and mint a client URL for one group. */
export interface WebPubSubPort {
  sendToGroup(group: string, message: Record<string, unknown>): Promise<void>;
  /** A client URL whose token joins `group` at connect time and may join or leave that group only. */
  clientUrl(group: string, userId: string, ttlMinutes: number): Promise<string>;
}

/** Translates the SDK's failures into the project's vocabulary; the status is kept, the SDK message is not. */
function translate(error: unknown): AppError {
  // RestError carries `statusCode`; read structurally so no transitive package is imported.
  const status =
    typeof error === 'object' &&
    error !== null &&
    'statusCode' in error &&
    typeof error.statusCode === 'number'
      ? error.statusCode
      : undefined;
  return new AppError(
    'upstream_unavailable',
    `Web PubSub refused or failed the request${status ? ` (${status})` : ''}.`,
    { cause: error },
  );
}

/** Wraps an SDK client; exported so tests can point it at the local server. */
export function webPubSubAdapter(client: WebPubSubServiceClient): WebPubSubPort {
  return {
    async sendToGroup(group, message) {
      try {
        await client.group(group).sendToAll(message);
      } catch (error: unknown) {
        throw translate(error);
      }
    },
    async clientUrl(group, userId, ttlMinutes) {
      try {
        const token = await client.getClientAccessToken({
          userId,
          groups: [group],
          roles: [`webpubsub.joinLeaveGroup.${group}`],
          expirationTimeInMinutes: ttlMinutes,
        });
        return token.url;
      } catch (error: unknown) {
        throw translate(error);
      }
    },
  };
}

/**
 * The configured Web PubSub, or undefined when none is (publishing is then off; SSE still works). A connection
 * string (local server, or keys) wins over an endpoint, which uses the managed identity.
 */
export function createWebPubSub(config: AppConfig): WebPubSubPort | undefined {
  const hub = config.WEB_PUBSUB_HUB;
  if (config.WEB_PUBSUB_CONNECTION_STRING) {
    // Plain http is only ever the local server; the SDK refuses it unless told.
    const insecure = /endpoint=http:\/\//i.test(config.WEB_PUBSUB_CONNECTION_STRING);
    return webPubSubAdapter(
      new WebPubSubServiceClient(config.WEB_PUBSUB_CONNECTION_STRING, hub, {
        allowInsecureConnection: insecure,
        retryOptions: { maxRetries: 1 },
      }),
    );
  }
  if (config.WEB_PUBSUB_ENDPOINT) {
    return webPubSubAdapter(
      new WebPubSubServiceClient(config.WEB_PUBSUB_ENDPOINT, new DefaultAzureCredential(), hub),
    );
  }
  return undefined;
}
