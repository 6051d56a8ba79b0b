import { BlobServiceClient } from '@azure/storage-blob';

/**
 * Lets the progress page PUT mockups straight into the local Azurite, as Bicep's CORS rule lets browsers do
 * in Azure: the page is served from the host's origin and its preflight is refused until a rule exists.
 */
export async function allowBrowserUploads(connectionString: string, origins: string[]): Promise<void> {
  await BlobServiceClient.fromConnectionString(connectionString).setProperties({
    cors: [
      {
        allowedOrigins: origins.join(','),
        allowedMethods: 'GET,HEAD,PUT,OPTIONS',
        allowedHeaders: '*',
        exposedHeaders: '*',
        maxAgeInSeconds: 3600,
      },
    ],
  });
}
