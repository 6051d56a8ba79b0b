/**
 * History events in the shape the durable-functions orchestrator handler reads them (PascalCase fields, as the
 * Durable Task framework serialises them). The runtime stores them verbatim and feeds them back on every replay.
 */
import { z } from 'zod';

/** Durable Task `EventType` numbers (see `durable-functions/lib/src/history/HistoryEventType`). */
export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventRaised: 15,
  ContinueAsNew: 16,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;

/**
 * One stored history event. Only the common fields are typed; the type-specific ones (`Name`, `Input`,
 * `TaskScheduledId`, `Result`, `Reason`, `Details`, `TimerId`, `FireAt`, ...) pass through untouched.
 * `MessageId` is the runtime's own field: the inbox message an event came from, so a message that was
 * applied before a crash is recognised and never applied twice.
 */
export const historyEventSchema = z
  .object({
    EventType: z.number().int(),
    EventId: z.number().int(),
    Timestamp: z.string(),
    IsPlayed: z.boolean(),
    MessageId: z.string().optional(),
  })
  .catchall(z.unknown());

/** A stored history event. */
export type HistoryEvent = z.infer<typeof historyEventSchema>;

/** Builds an event; `EventId` is -1 for events that are not tied to a scheduled task, as in Durable Task. */
export function historyEvent(
  type: number,
  timestamp: Date,
  fields: Record<string, unknown> = {},
  eventId = -1,
): HistoryEvent {
  return {
    EventType: type,
    EventId: eventId,
    Timestamp: timestamp.toISOString(),
    IsPlayed: false,
    ...fields,
  };
}
