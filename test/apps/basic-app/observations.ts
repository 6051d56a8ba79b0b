import { BlobServiceClient } from '@azure/storage-blob';

/** Test app helper: every trigger records what it saw as a blob, so black-box tests can count invocations. */
export async function recordObservation(kind: string, payload: Record<string, unknown>): Promise<void> {
  const connection = process.env.AzureWebJobsStorage;
  if (!connection) throw new Error('AzureWebJobsStorage is not set');
  const container = BlobServiceClient.fromConnectionString(connection).getContainerClient('observations');
  await container.createIfNotExists();
  const body = JSON.stringify({ kind, at: new Date().toISOString(), pid: process.pid, ...payload });
  const name = `${kind}/${Date.now()}-${Math.random().toString(36).slice(2)}.json`;
  await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
}
