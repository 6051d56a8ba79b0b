import { BlobServiceClient } from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import { storageConnectionString, type AppConfig } from '../config';

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
