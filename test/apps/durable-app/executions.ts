import { randomUUID } from 'node:crypto';
import { RestError, TableClient } from '@azure/data-tables';

/**
 * Test app helper: activities record each execution as a row of an Azurite table, so black-box tests can
 * count how often an activity really ran (across host restarts and across hosts).
 */
let table: Promise<TableClient> | undefined;

function executionsTable(): Promise<TableClient> {
  table ??= (async () => {
    const connection = process.env.AzureWebJobsStorage;
    if (!connection) throw new Error('AzureWebJobsStorage is not set');
    const client = TableClient.fromConnectionString(connection, 'durableTestExecutions', {
      allowInsecureConnection: true,
    });
    await client.createTable().catch((error: unknown) => {
      if (!(error instanceof RestError && error.statusCode === 409)) throw error;
    });
    return client;
  })();
  return table;
}

export async function recordExecution(
  run: string,
  key: string,
  fields: Record<string, string | number> = {},
): Promise<void> {
  const client = await executionsTable();
  await client.createEntity({
    partitionKey: run,
    rowKey: `${key}|${randomUUID()}`,
    Key: key,
    Pid: process.pid,
    ...fields,
  });
}

export async function countExecutions(run: string, key: string): Promise<number> {
  const client = await executionsTable();
  let count = 0;
  const filter = `PartitionKey eq '${run}' and Key eq '${key}'`;
  for await (const _ of client.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) count++;
  return count;
}
