import { app } from '@azure/functions';

// HTTP streaming must be enabled before the first registration: SSE progress streams and large exports rely on it.
app.setup({ enableHttpStream: true });
