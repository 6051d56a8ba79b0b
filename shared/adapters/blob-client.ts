import { BlobServiceClient } from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import { storageConnectionString, type AppConfig } from '../config';

/**
 * The storage the app's own code uses, by name; `infra/` provisions each (a test compares the two). The
 * Functions runtime and the Durable Functions task hub create their own containers, queues and tables.
 */
export function appStorage(config: AppConfig): {
  blobContainers: string[];
  queues: string[];
  tables: string[];
} {
  return { blobContainers: [config.UPLOADS_CONTAINER], queues: [], tables: [] };
}

/** One Blob service client per process: keyless by account URL when configured, else the connection string. */
export function createBlobServiceClient(config: AppConfig): BlobServiceClient {
  if (config.STORAGE_ACCOUNT_URL)
    return new BlobServiceClient(config.STORAGE_ACCOUNT_URL, new DefaultAzureCredential());
  return BlobServiceClient.fromConnectionString(storageConnectionString(config));
}

let shared: BlobServiceClient | undefined;

export function getBlobServiceClient(config: AppConfig): BlobServiceClient {
  shared ??= createBlobServiceClient(config);
  return shared;
}

/** The Blob endpoint's origin, which browsers PUT uploads to (the progress page's CSP allows it). */
export function blobEndpointOrigin(config: AppConfig): string {
  return new URL(getBlobServiceClient(config).url).origin;
}
