import '../shared/app-setup';
import { app } from '@azure/functions';
import { getConfig } from '../shared/config';
import { getServices } from '../shared/services';

const config = getConfig();

/**
 * Checks every file that arrives in the uploads container and marks its upload ready or rejected. Event Grid
 * as the source in Azure (the only kind Flex Consumption runs); the local host polls with receipts.
 */
app.storageBlob('uploads-check', {
  path: `${config.UPLOADS_CONTAINER}/{tenant}/{uploadId}/{fileName}`,
  connection: config.STORAGE_CONNECTION_STRING ? 'STORAGE_CONNECTION_STRING' : 'AzureWebJobsStorage',
  source: 'EventGrid',
  handler: async (blob, context) => {
    const path = context.triggerMetadata?.blobTrigger;
    if (typeof path !== 'string')
      throw new Error('uploads-check: the trigger did not say which blob arrived.');
    const blobName = path.slice(config.UPLOADS_CONTAINER.length + 1);
    if (!Buffer.isBuffer(blob))
      throw new Error(`uploads-check ${blobName}: the blob did not arrive as bytes.`);
    const { uploadChecker } = await getServices();
    const outcome = await uploadChecker.check(blobName, blob);
    context.log(`uploads-check ${blobName}: ${outcome}`);
  },
});
