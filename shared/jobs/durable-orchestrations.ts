import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { AppError } from '../errors';
import type { JobOrchestrations } from './job-service';
import { jobOrchestratorName } from './orchestration-contract';
import { systemOrchestratorName } from './system-orchestration-contract';

/** The durable client behind the job service's orchestration port; its failures become `upstream_unavailable`. */
export function durableOrchestrations(context: InvocationContext): JobOrchestrations {
  const client = df.getClient(context);
  const translate = (error: unknown): AppError =>
    new AppError(
      'upstream_unavailable',
      'The orchestration service did not accept the request; retry shortly.',
      {
        cause: error,
        retryAfterSeconds: 2,
      },
    );
  return {
    start: async (instanceId, input) => {
      const name = input.system ? systemOrchestratorName : jobOrchestratorName;
      await client.startNew(name, { instanceId, input }).catch((error: unknown) => {
        throw translate(error);
      });
    },
    raise: async (instanceId, eventName, data) => {
      await client.raiseEvent(instanceId, eventName, data).catch((error: unknown) => {
        throw translate(error);
      });
    },
  };
}
