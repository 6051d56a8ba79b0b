import {
  BlobSASPermissions,
  RestError,
  SASProtocol,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
  type BlobServiceClient,
  type ContainerClient,
  type UserDelegationKey,
} from '@azure/storage-blob';
import { AppError } from '../errors';

/** The uploads container, as the upload services need it; built on `@azure/storage-blob` below. */
export interface UploadBlobs {
  /** A URL that may create `blobName` once (no overwrite, no read, nothing else), until `expiresOn`. */
  createOnceUrl(blobName: string, expiresOn: Date): Promise<string>;
  /** The blob's current ETag, or undefined when it does not exist. */
  etag(blobName: string): Promise<string | undefined>;
  /** The blob's bytes, refusing to read more than `maxBytes` (undefined when it does not exist). */
  read(blobName: string, maxBytes: number): Promise<Buffer | undefined>;
  /** Deletes the blob; a blob already gone is fine. */
  delete(blobName: string): Promise<void>;
}

function translateStorageError(error: unknown, what: string): AppError {
  const status = error instanceof RestError ? error.statusCode : undefined;
  if (status === 404) return new AppError('not_found', `${what} was not found.`, { cause: error });
  return new AppError('upstream_unavailable', 'Blob storage is unavailable; retry shortly.', {
    cause: error,
  });
}

const isNotFound = (error: unknown) => error instanceof RestError && error.statusCode === 404;

/** How long a user delegation key is reused before a fresh one is asked for (it stays valid twice as long). */
const delegationKeyReuseMs = 60 * 60 * 1000;

/**
 * The uploads container through `@azure/storage-blob`. Upload URLs are user delegation SAS when the client
 * signs in with a token credential (managed identity in Azure), account-key SAS only when it was built from
 * a connection string with a key (Azurite, which does not support user delegation).
 */
export class AzureUploadBlobs implements UploadBlobs {
  private readonly container: ContainerClient;
  private containerReady: Promise<unknown> | undefined;
  private delegationKey: { key: UserDelegationKey; fetchedAt: number } | undefined;

  constructor(
    private readonly service: BlobServiceClient,
    containerName: string,
  ) {
    this.container = service.getContainerClient(containerName);
  }

  private ensureContainer(): Promise<unknown> {
    this.containerReady ??= this.container.createIfNotExists().catch((error: unknown) => {
      this.containerReady = undefined;
      throw translateStorageError(error, 'The uploads container');
    });
    return this.containerReady;
  }

  async createOnceUrl(blobName: string, expiresOn: Date): Promise<string> {
    await this.ensureContainer();
    const blob = this.container.getBlockBlobClient(blobName);
    // `c` alone: create a new blob, never overwrite one, never read or list.
    const permissions = BlobSASPermissions.parse('c');
    const protocol = blob.url.startsWith('https:') ? SASProtocol.Https : SASProtocol.HttpsAndHttp;
    try {
      if (this.service.credential instanceof StorageSharedKeyCredential) {
        return await blob.generateSasUrl({ permissions, expiresOn, protocol });
      }
      const key = await this.userDelegationKey();
      const sas = generateBlobSASQueryParameters(
        { containerName: this.container.containerName, blobName, permissions, expiresOn, protocol },
        key,
        this.service.accountName,
      );
      return `${blob.url}?${sas.toString()}`;
    } catch (error: unknown) {
      throw translateStorageError(error, 'The upload URL');
    }
  }

  private async userDelegationKey(): Promise<UserDelegationKey> {
    const now = Date.now();
    if (this.delegationKey && now - this.delegationKey.fetchedAt < delegationKeyReuseMs)
      return this.delegationKey.key;
    // Starts a little in the past for clock skew; lasts twice the reuse period so every SAS signed with it
    // outlives its own short expiry.
    const key = await this.service.getUserDelegationKey(
      new Date(now - 5 * 60 * 1000),
      new Date(now + 2 * delegationKeyReuseMs),
    );
    this.delegationKey = { key, fetchedAt: now };
    return key;
  }

  async etag(blobName: string): Promise<string | undefined> {
    try {
      const properties = await this.container.getBlockBlobClient(blobName).getProperties();
      return properties.etag?.replace(/"/g, '');
    } catch (error: unknown) {
      if (isNotFound(error)) return undefined;
      throw translateStorageError(error, 'The upload');
    }
  }

  async read(blobName: string, maxBytes: number): Promise<Buffer | undefined> {
    const blob = this.container.getBlockBlobClient(blobName);
    try {
      const properties = await blob.getProperties();
      if ((properties.contentLength ?? 0) > maxBytes) {
        throw new AppError('payload_too_large', `The upload is larger than ${maxBytes} bytes.`);
      }
      return await blob.downloadToBuffer();
    } catch (error: unknown) {
      if (error instanceof AppError) throw error;
      if (isNotFound(error)) return undefined;
      throw translateStorageError(error, 'The upload');
    }
  }

  async delete(blobName: string): Promise<void> {
    try {
      await this.container.getBlockBlobClient(blobName).deleteIfExists({ deleteSnapshots: 'include' });
    } catch (error: unknown) {
      throw translateStorageError(error, 'The upload');
    }
  }
}
