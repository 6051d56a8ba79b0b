import { app } from '@azure/functions';
import { recordObservation } from './observations';

app.timer('tick', {
  schedule: '%TEST_TIMER_SCHEDULE%',
  handler: async (timer) => {
    await recordObservation('tick', { isPastDue: timer.isPastDue });
  },
});

app.storageBlob('incoming', {
  path: 'incoming/{name}',
  connection: 'AzureWebJobsStorage',
  handler: async (blob, context) => {
    const content = Buffer.isBuffer(blob) ? blob.toString('utf8') : String(blob);
    await recordObservation('blob', { name: context.triggerMetadata?.name, content });
  },
});
