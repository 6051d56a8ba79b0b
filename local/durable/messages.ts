/**
 * Messages that drive an orchestration instance: everything that becomes a history event on its next step.
 * They sit in the instance's inbox (rows of its own table partition) until a step applies them.
 */
import { z } from 'zod';

const failure = { reason: z.string(), details: z.string() };

/** A message in an instance's inbox (validated when read back from storage). */
export const instanceMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start') }),
  z.object({ type: z.literal('taskCompleted'), taskId: z.number().int(), result: z.string() }),
  z.object({ type: z.literal('taskFailed'), taskId: z.number().int(), ...failure }),
  z.object({ type: z.literal('timerFired'), timerId: z.number().int(), fireAt: z.string() }),
  z.object({ type: z.literal('subCompleted'), taskId: z.number().int(), result: z.string() }),
  z.object({ type: z.literal('subFailed'), taskId: z.number().int(), ...failure }),
  z.object({ type: z.literal('eventRaised'), name: z.string(), input: z.string().optional() }),
  z.object({ type: z.literal('terminate'), reason: z.string() }),
  z.object({ type: z.literal('suspend'), reason: z.string() }),
  z.object({ type: z.literal('resume'), reason: z.string() }),
]);

/** A message in an instance's inbox. */
export type InstanceMessage = z.infer<typeof instanceMessageSchema>;

/** Messages tied to one execution (a task result) are dropped when they reach a newer generation. */
export function isExecutionScoped(message: InstanceMessage): boolean {
  return (
    message.type === 'taskCompleted' ||
    message.type === 'taskFailed' ||
    message.type === 'timerFired' ||
    message.type === 'subCompleted' ||
    message.type === 'subFailed'
  );
}

/** Work a committed step hands to other partitions (a child instance to create, a message to a parent). */
export const outboxItemSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('message'),
    instanceId: z.string(),
    generation: z.number().int(),
    message: instanceMessageSchema,
  }),
  z.object({
    kind: z.literal('createChild'),
    instanceId: z.string(),
    name: z.string(),
    input: z.string(),
    parentInstanceId: z.string(),
    parentGeneration: z.number().int(),
    parentTaskId: z.number().int(),
  }),
]);

/** Work for another instance, committed with the step that produced it. */
export type OutboxItem = z.infer<typeof outboxItemSchema>;
