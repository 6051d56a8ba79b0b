import '../shared/app-setup';
import { app } from '@azure/functions';
import { getConfig } from '../shared/config';
import { getServices } from '../shared/services';

/** Deletes uploads older than their tenant's retention and gives up uploads that never arrived. */
app.timer('uploads-retention', {
  schedule: getConfig().UPLOAD_RETENTION_SCHEDULE,
  handler: async (_timer, context) => {
    const { uploadRetention } = await getServices();
    const report = await uploadRetention.run();
    context.log(`uploads-retention: ${report.expired} expired, ${report.abandoned} abandoned`);
  },
});
