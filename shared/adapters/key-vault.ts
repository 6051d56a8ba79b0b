import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { RestError } from '@azure/core-rest-pipeline';
import { parseKeyVaultSecretIdentifier, SecretClient } from '@azure/keyvault-secrets';
import { AppError } from '../errors';
import type { SecretReader } from '../secrets/secret-provider';

/**
 * The Key Vault adapter: reads secrets by URI with `@azure/keyvault-secrets`, one client per vault, and the
 * app's identity (`DefaultAzureCredential`: the managed identity in Azure; locally the stand-in identity
 * endpoint that `npm start` runs, through the same managed-identity protocol). Failures become `AppError`s
 * that name the secret, never its value.
 */
export function createKeyVaultReader(
  credential: TokenCredential = new DefaultAzureCredential(),
): SecretReader {
  const clients = new Map<string, SecretClient>();

  const clientFor = (vaultUrl: string): SecretClient => {
    let client = clients.get(vaultUrl);
    if (!client) {
      // A vault on loopback is the local server (plain HTTP, challenge resource https://vault.azure.net);
      // nothing else gets these relaxations.
      const local = isLoopback(vaultUrl);
      client = new SecretClient(vaultUrl, credential, {
        allowInsecureConnection: local,
        disableChallengeResourceVerification: local,
        retryOptions: { maxRetries: 2 },
      });
      clients.set(vaultUrl, client);
    }
    return client;
  };

  return {
    async read(secretUri) {
      const { vaultUrl, name, version } = parseKeyVaultSecretIdentifier(secretUri.replace(/\/$/, ''));
      try {
        const secret = await clientFor(vaultUrl).getSecret(name, version ? { version } : {});
        if (secret.value === undefined)
          throw new AppError('internal', `Key Vault secret "${name}" has no value.`);
        return secret.value;
      } catch (error: unknown) {
        throw translate(error, name);
      }
    },
  };
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

function translate(error: unknown, name: string): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof RestError && error.statusCode !== undefined) {
    if (error.statusCode === 404) {
      return new AppError('internal', `Key Vault secret "${name}" does not exist.`, { cause: error });
    }
    if (error.statusCode === 401 || error.statusCode === 403) {
      return new AppError(
        'internal',
        `The app's identity may not read Key Vault secret "${name}" (grant it Key Vault Secrets User).`,
        { cause: error },
      );
    }
  }
  // Throttling, 5xx, network failures and an identity endpoint that did not answer: worth trying again.
  return new AppError(
    'upstream_unavailable',
    `Key Vault secret "${name}" could not be read; retry shortly.`,
    {
      cause: error,
      retryAfterSeconds: 2,
    },
  );
}
