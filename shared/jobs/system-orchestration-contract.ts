import { z } from 'zod';
import { systemPassIdSchema } from '../engine/system-analysis';
import { storyOutcomeSchema, systemPassOutcomeSchema } from '../engine/system-workflow';
import { jobRefSchema } from './orchestration-contract';

/**
 * What crosses the durable boundary in system mode, besides the job orchestration's own contract: the backlog
 * orchestration takes the same input as a job's (with `system` set), runs each story as a sub-orchestration of
 * the job orchestrator, and calls these activities. Only ids, indexes and outcomes travel.
 */
export const systemOrchestratorName = 'systemOrchestrator';

/** `systemPassRun`: discovery, interconnection or consistency over the backlog, checkpointed on the job. */
export const systemPassRunInputSchema = jobRefSchema.extend({ pass: systemPassIdSchema });
export type SystemPassRunInput = z.infer<typeof systemPassRunInputSchema>;
export const systemPassRunOutputSchema = systemPassOutcomeSchema;
export type SystemPassRunOutput = z.infer<typeof systemPassRunOutputSchema>;

/** `systemStoryStart` and `systemStoryFinish`: one story of the backlog, by its index. */
export const systemStoryInputSchema = jobRefSchema.extend({ index: z.number().int().nonnegative() });
export type SystemStoryInput = z.infer<typeof systemStoryInputSchema>;
export const systemStoryFinishOutputSchema = storyOutcomeSchema;
export type SystemStoryFinishOutput = z.infer<typeof systemStoryFinishOutputSchema>;
