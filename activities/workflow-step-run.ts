import * as df from 'durable-functions';
import {
  workflowStepRunInputSchema,
  type WorkflowStepRunOutput,
} from '../shared/jobs/orchestration-contract';
import { getServices } from '../shared/services';

/** Runs one workflow step after the iterations (merge, consolidation, a judge or rewrite round) and checkpoints it. */
export const workflowStepRun = df.app.activity('workflowStepRun', {
  handler: async (input: unknown): Promise<WorkflowStepRunOutput> =>
    (await getServices()).steps.runStep(workflowStepRunInputSchema.parse(input)),
});
