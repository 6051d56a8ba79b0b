/**
 * Persistence of one task hub in Azure Table storage (Azurite locally). Everything about an instance lives in
 * one partition (`PartitionKey` = instance id) so that a step commits atomically in one entity-group
 * transaction: its new history, the activities and timers it schedules, the inbox messages it consumed and
 * the instance row, whose ETag proves the step still holds the instance's lease.
 *
 * Row keys: `state` (instance row), `h|<generation>|<firstSeq>` (history chunks), and work rows under `w|`, so
 * one range query finds all of them: `w|m|<visibleAt>|<seq>|<uuid>` (inbox; timers are messages visible from
 * their fire time), `w|a|<generation>|<taskId>` (activity work items, leased by the worker running them),
 * `w|o|<uuid>` (outbox towards other instances).
 */
import { randomUUID } from 'node:crypto';
import { RestError, TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import { historyEventSchema, type HistoryEvent } from './history';
import { instanceMessageSchema, outboxItemSchema, type InstanceMessage, type OutboxItem } from './messages';
import { retryOptionsSchema } from './orchestrator-state';

/** `OrchestrationRuntimeStatus` values the status API reports. */
export const runtimeStatuses = [
  'Pending',
  'Running',
  'Completed',
  'ContinuedAsNew',
  'Failed',
  'Terminated',
  'Suspended',
] as const;
/** An instance's runtime status. */
export type RuntimeStatus = (typeof runtimeStatuses)[number];

/** Completed, failed and terminated instances take no more work. */
export function isTerminal(status: RuntimeStatus): boolean {
  return status === 'Completed' || status === 'Failed' || status === 'Terminated';
}

/** A retryable activity or sub-orchestration between its attempts. */
export const retryStateSchema = z.object({
  kind: z.enum(['activity', 'subOrchestration']),
  name: z.string(),
  input: z.string(),
  options: retryOptionsSchema,
  attempt: z.number().int(),
  firstAttemptAt: z.string(),
  childInstanceId: z.string().optional(),
});
/** A retryable call between attempts. */
export type RetryState = z.infer<typeof retryStateSchema>;

/** Bookkeeping the runtime needs to mirror the library's task-id sequence across replays. */
export const engineStateSchema = z.object({
  nextId: z.number().int(),
  actionCount: z.number().int(),
  /** Keyed by the id of the attempt or retry timer currently outstanding. */
  retries: z.record(z.string(), retryStateSchema),
});
/** The runtime's bookkeeping for one execution. */
export type EngineState = z.infer<typeof engineStateSchema>;

const stateRowSchema = z.object({
  partitionKey: z.string(),
  etag: z.string(),
  Name: z.string(),
  RuntimeStatus: z.enum(runtimeStatuses),
  Input: z.string(),
  Output: z.string(),
  CustomStatus: z.string(),
  CreatedTime: z.string(),
  LastUpdatedTime: z.string(),
  Generation: z.number().int(),
  ExecutionId: z.string(),
  HistoryLength: z.number().int(),
  Engine: z.string(),
  LeaseOwner: z.string(),
  LeaseUntil: z.string(),
  ParentInstanceId: z.string(),
  ParentGeneration: z.number().int(),
  ParentTaskId: z.number().int(),
});

/** The instance row as the runtime uses it. */
export interface InstanceState {
  instanceId: string;
  etag: string;
  name: string;
  runtimeStatus: RuntimeStatus;
  /** JSON text, '' when absent. */
  input: string;
  output: string;
  customStatus: string;
  createdTime: string;
  lastUpdatedTime: string;
  generation: number;
  executionId: string;
  historyLength: number;
  engine: EngineState;
  leaseOwner: string;
  leaseUntil: string;
  parent?: { instanceId: string; generation: number; taskId: number } | undefined;
}

/** An inbox row, decoded. */
export interface InboxMessage {
  rowKey: string;
  id: string;
  generation: number;
  message: InstanceMessage;
}

/** An activity work item row, decoded. */
export interface ActivityWorkItem {
  instanceId: string;
  rowKey: string;
  etag: string;
  generation: number;
  taskId: number;
  name: string;
  /** JSON text of the activity's input. */
  input: string;
  leaseOwner: string;
  leaseUntil: string;
  dequeueCount: number;
}

/** An outbox row, decoded. */
export interface StoredOutboxItem {
  instanceId: string;
  rowKey: string;
  item: OutboxItem;
}

const inboxRowSchema = z.object({
  rowKey: z.string(),
  Body: z.string(),
  Generation: z.number().int(),
});

const activityRowSchema = z.object({
  partitionKey: z.string(),
  rowKey: z.string(),
  etag: z.string(),
  Name: z.string(),
  Input: z.string(),
  Generation: z.number().int(),
  TaskId: z.number().int(),
  LeaseOwner: z.string(),
  LeaseUntil: z.string(),
  DequeueCount: z.number().int(),
});

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** A string property holds at most 64 KiB (32 Ki UTF-16 units); Azurite enforces it as Azure does. */
const PART_LENGTH = 30_000;
/** History per row, well inside the 1 MiB entity limit (UTF-16: two bytes a unit). */
const MAX_CHUNK_LENGTH = 400_000;

/**
 * A text value as entity properties: `name`, then `name_1`, `name_2`, ... for what does not fit in one, so
 * payloads up to the 1 MiB entity limit (LLM output, say) are stored as they are.
 */
export function textProperties(name: string, text: string): Record<string, string> {
  const properties: Record<string, string> = { [name]: text.slice(0, PART_LENGTH) };
  for (let part = 1; part * PART_LENGTH < text.length; part++) {
    properties[`${name}_${part}`] = text.slice(part * PART_LENGTH, (part + 1) * PART_LENGTH);
  }
  return properties;
}

/** Reads back a value written with `textProperties`. */
function readText(entity: Record<string, unknown>, name: string): string {
  let text = z.string().parse(entity[name]);
  for (let part = 1; typeof entity[`${name}_${part}`] === 'string'; part++)
    text += String(entity[`${name}_${part}`]);
  return text;
}

/** The entity with its split text properties joined, ready for a schema. */
function withTexts(entity: Record<string, unknown>, names: string[]): Record<string, unknown> {
  return { ...entity, ...Object.fromEntries(names.map((name) => [name, readText(entity, name)])) };
}
/** Row key prefix of a generation's history chunks. */
export const historyPrefix = (generation: number): string => `h|${pad(generation, 6)}|`;
/** Row key of an activity work item: one per execution and task id, so a redone step rewrites it. */
export const activityRowKey = (generation: number, taskId: number): string =>
  `${ACTIVITY}${pad(generation, 6)}|${pad(taskId, 8)}`;
const STATE = 'state';
/** Row key prefixes of work rows. */
export const INBOX = 'w|m|';
export const ACTIVITY = 'w|a|';
export const OUTBOX = 'w|o|';
/** `~` sorts after every character used in row keys, so `<prefix>~` bounds a prefix range. */
const end = (prefix: string): string => `${prefix}~`;

/** Inbox row keys up to this bound are visible at `now`. */
export function visibleBound(now: Date): string {
  return end(`${INBOX}${now.toISOString()}`);
}

let messageSeq = 0;
/** Row key of an inbox message: ordered by visibility time, then by creation order in this process. */
function inboxRowKey(visibleAt: Date): string {
  messageSeq = (messageSeq + 1) % 1_000_000;
  return `${INBOX}${visibleAt.toISOString()}|${pad(messageSeq, 6)}|${randomUUID()}`;
}

const historyChunkSchema = z.array(historyEventSchema);

/**
 * History rows of one step: events are stored in chunks (one row per step, split only when a chunk would near
 * the 1 MiB entity limit), which keeps the number of rows a commit writes small.
 */
export function historyRows(
  instanceId: string,
  generation: number,
  firstSeq: number,
  events: HistoryEvent[],
): TableEntity[] {
  const rows: TableEntity[] = [];
  let chunk: HistoryEvent[] = [];
  let size = 0;
  let seq = firstSeq;
  const flush = (): void => {
    if (chunk.length === 0) return;
    rows.push({
      partitionKey: instanceId,
      rowKey: `${historyPrefix(generation)}${pad(seq, 8)}`,
      ...textProperties('Events', JSON.stringify(chunk)),
    });
    seq += chunk.length;
    chunk = [];
    size = 0;
  };
  for (const event of events) {
    const length = JSON.stringify(event).length;
    if (size + length > MAX_CHUNK_LENGTH) flush();
    chunk.push(event);
    size += length;
  }
  flush();
  return rows;
}

function prefixFilter(instanceId: string, prefix: string): string {
  return `PartitionKey eq ${odata(instanceId)} and RowKey ge ${odata(prefix)} and RowKey lt ${odata(`${prefix}~`)}`;
}

function odata(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** True for the errors that mean "someone else changed it first" (412) or "already exists" (409). */
export function isConflict(error: unknown): boolean {
  return error instanceof RestError && (error.statusCode === 412 || error.statusCode === 409);
}

function isNotFound(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 404;
}

/** Entity-group transactions hold at most 100 operations and 4 MiB. */
const MAX_BATCH = 100;
const MAX_BATCH_BYTES = 3_500_000;

/**
 * Splits operations into transactions within the limits, filling from the end so the last operations (the
 * instance row's update) share the final transaction with as many others as fit.
 */
function toBatches(actions: TransactionAction[]): TransactionAction[][] {
  const batches: TransactionAction[][] = [];
  let current: TransactionAction[] = [];
  let bytes = 0;
  for (const action of [...actions].reverse()) {
    const size = JSON.stringify(action[1]).length * 2;
    if (current.length > 0 && (current.length === MAX_BATCH || bytes + size > MAX_BATCH_BYTES)) {
      batches.unshift(current);
      current = [];
      bytes = 0;
    }
    current.unshift(action);
    bytes += size;
  }
  if (current.length > 0) batches.unshift(current);
  return batches;
}

/** Storage refused the data itself (a value or entity over Table storage's limits): retrying cannot help. */
export function isTooLarge(error: unknown): boolean {
  return error instanceof RestError && (error.statusCode === 400 || error.statusCode === 413);
}

/** Table storage of one task hub. */
export class TaskHubStore {
  readonly table: TableClient;

  constructor(connectionString: string, taskHubName: string) {
    this.table = TableClient.fromConnectionString(connectionString, `${taskHubName}Instances`, {
      allowInsecureConnection: true,
    });
  }

  async ensure(): Promise<void> {
    try {
      await this.table.createTable();
    } catch (error: unknown) {
      if (!isConflict(error)) throw error;
    }
  }

  /** The instance row and its inbox, in one query. */
  async readInstanceAndInbox(
    instanceId: string,
  ): Promise<{ state: InstanceState | undefined; inbox: InboxMessage[] }> {
    const filter =
      `PartitionKey eq ${odata(instanceId)} and ` +
      `(RowKey eq '${STATE}' or (RowKey ge ${odata(INBOX)} and RowKey lt ${odata(end(INBOX))}))`;
    let state: InstanceState | undefined;
    const inbox: InboxMessage[] = [];
    for await (const entity of this.table.listEntities({ queryOptions: { filter } })) {
      if (entity.rowKey === STATE) state = toState(entity);
      else inbox.push(toInbox(entity));
    }
    return { state, inbox };
  }

  async readInstance(instanceId: string): Promise<InstanceState | undefined> {
    try {
      return toState(await this.table.getEntity(instanceId, STATE));
    } catch (error: unknown) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async readHistory(instanceId: string, generation: number, length: number): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    for await (const entity of this.table.listEntities({
      queryOptions: { filter: prefixFilter(instanceId, historyPrefix(generation)) },
    })) {
      events.push(...historyChunkSchema.parse(JSON.parse(readText(entity, 'Events'))));
    }
    // Rows beyond the committed length belong to a step whose final transaction never landed.
    return events.slice(0, length);
  }

  /** Row keys of an instance starting with `prefix` (e.g. a previous generation's history). */
  async rowKeysWithPrefix(instanceId: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const entity of this.table.listEntities({
      queryOptions: { filter: prefixFilter(instanceId, prefix), select: ['RowKey'] },
    })) {
      if (entity.rowKey !== undefined) keys.push(entity.rowKey);
    }
    return keys;
  }

  /**
   * Takes the instance's lease; returns the ETag that proves it, or undefined when another worker holds it.
   * A lease this worker still holds for at least half its length is used as it is: steps keep the lease, so
   * consecutive steps of a busy instance cost no extra round trip.
   */
  async claim(state: InstanceState, owner: string, leaseMs: number, now: Date): Promise<string | undefined> {
    const remaining = state.leaseUntil === '' ? 0 : Date.parse(state.leaseUntil) - now.getTime();
    if (state.leaseOwner === owner && remaining > leaseMs / 2) return state.etag;
    if (state.leaseOwner !== '' && state.leaseOwner !== owner && remaining > 0) return undefined;
    try {
      const result = await this.table.updateEntity(
        {
          partitionKey: state.instanceId,
          rowKey: STATE,
          LeaseOwner: owner,
          LeaseUntil: new Date(now.getTime() + leaseMs).toISOString(),
        },
        'Merge',
        { etag: state.etag },
      );
      return result.etag;
    } catch (error: unknown) {
      if (isConflict(error) || isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Commits a step. `writes` go first (idempotent upserts with deterministic keys, split into batches when
   * more than one transaction is needed); the last transaction carries the deletes and the instance row with
   * the lease ETag, so the step either lands as a whole from the reader's point of view or not at all.
   * Returns false when the lease was lost.
   */
  async commit(
    instanceId: string,
    writes: TableEntity[],
    deletes: string[],
    state: InstanceState,
    leaseEtag: string,
  ): Promise<boolean> {
    const upserts: TransactionAction[] = writes.map((e) => [
      'upsert',
      { ...e, partitionKey: instanceId },
      'Replace',
    ]);
    const removals: TransactionAction[] = deletes.map((rowKey) => [
      'delete',
      { partitionKey: instanceId, rowKey },
    ]);
    const final: TransactionAction = ['update', fromState(state), 'Replace', { etag: leaseEtag }];
    // Everything that fits rides in the final transaction; the rest goes ahead of it, in batches.
    const batches = toBatches([...upserts, ...removals, final]);
    const tail = batches.pop() ?? [];
    for (const batch of batches) await this.table.submitTransaction(batch);
    try {
      await this.table.submitTransaction(tail);
      return true;
    } catch (error: unknown) {
      if (isConflict(error) || isNotFound(error)) return false;
      throw error;
    }
  }

  /** Releases a lease without other changes (a step that found nothing to do). */
  async release(state: InstanceState, leaseEtag: string): Promise<void> {
    try {
      await this.table.updateEntity(
        { partitionKey: state.instanceId, rowKey: STATE, LeaseOwner: '', LeaseUntil: '' },
        'Merge',
        { etag: leaseEtag },
      );
    } catch (error: unknown) {
      if (!isConflict(error) && !isNotFound(error)) throw error;
    }
  }

  async deleteRows(instanceId: string, rowKeys: string[]): Promise<void> {
    for (let i = 0; i < rowKeys.length; i += MAX_BATCH) {
      const batch: TransactionAction[] = rowKeys
        .slice(i, i + MAX_BATCH)
        .map((rowKey) => ['delete', { partitionKey: instanceId, rowKey }]);
      try {
        await this.table.submitTransaction(batch);
      } catch (error: unknown) {
        // A row already gone (deleted by a concurrent worker) fails the batch: fall back to one by one.
        if (!isNotFound(error)) throw error;
        for (const [, entity] of batch) {
          await this.table.deleteEntity(instanceId, entity.rowKey).catch((e: unknown) => {
            if (!isNotFound(e)) throw e;
          });
        }
      }
    }
  }

  /** Puts a message in an instance's inbox. */
  async send(
    instanceId: string,
    generation: number,
    message: InstanceMessage,
    visibleAt = new Date(),
  ): Promise<void> {
    await this.table.createEntity(inboxEntity(instanceId, generation, message, visibleAt));
  }

  /**
   * Creates (or re-creates, once finished) an instance and its start message in one transaction. Returns
   * false when a live instance with that id exists.
   */
  async createInstance(init: {
    instanceId: string;
    name: string;
    input: string;
    now: Date;
    parent?: InstanceState['parent'];
  }): Promise<boolean> {
    const existing = await this.readInstance(init.instanceId);
    if (existing !== undefined && !isTerminal(existing.runtimeStatus)) return false;
    if (existing !== undefined) await this.purge(init.instanceId);
    const generation = 0;
    const state: InstanceState = {
      instanceId: init.instanceId,
      etag: '*',
      name: init.name,
      runtimeStatus: 'Pending',
      input: init.input,
      output: '',
      customStatus: '',
      createdTime: init.now.toISOString(),
      lastUpdatedTime: init.now.toISOString(),
      generation,
      executionId: randomUUID(),
      historyLength: 0,
      engine: { nextId: 0, actionCount: 0, retries: {} },
      leaseOwner: '',
      leaseUntil: '',
      parent: init.parent,
    };
    try {
      await this.table.submitTransaction([
        ['create', fromState(state)],
        ['create', inboxEntity(init.instanceId, generation, { type: 'start' }, init.now)],
      ]);
      return true;
    } catch (error: unknown) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  /** Deletes every row of an instance; returns whether it existed. */
  async purge(instanceId: string): Promise<boolean> {
    const keys: string[] = [];
    const filter = `PartitionKey eq ${odata(instanceId)}`;
    for await (const entity of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) {
      if (entity.rowKey !== undefined) keys.push(entity.rowKey);
    }
    await this.deleteRows(instanceId, keys);
    return keys.includes(STATE);
  }

  async listInstances(): Promise<InstanceState[]> {
    const filter = `RowKey eq '${STATE}'`;
    const states: InstanceState[] = [];
    for await (const entity of this.table.listEntities({ queryOptions: { filter } }))
      states.push(toState(entity));
    return states;
  }

  /**
   * All work of the task hub in one range query (every worker's): instances with an inbox message visible at
   * `now`, activity work items whose lease is free or expired, and outbox items not yet delivered.
   */
  async findWork(
    now: Date,
  ): Promise<{ instances: string[]; activities: ActivityWorkItem[]; outbox: StoredOutboxItem[] }> {
    const filter = `RowKey ge 'w|' and RowKey lt 'w|~'`;
    const instances = new Set<string>();
    const activities: ActivityWorkItem[] = [];
    const outbox: StoredOutboxItem[] = [];
    const bound = visibleBound(now);
    const nowText = now.toISOString();
    for await (const entity of this.table.listEntities({ queryOptions: { filter } })) {
      const rowKey = z.string().parse(entity.rowKey);
      const instanceId = z.string().parse(entity.partitionKey);
      if (rowKey.startsWith(INBOX)) {
        if (rowKey <= bound) instances.add(instanceId);
      } else if (rowKey.startsWith(ACTIVITY)) {
        const item = toActivity(entity);
        if (item.leaseUntil < nowText) activities.push(item);
      } else if (rowKey.startsWith(OUTBOX)) {
        outbox.push({
          instanceId,
          rowKey,
          item: outboxItemSchema.parse(JSON.parse(readText(entity, 'Body'))),
        });
      }
    }
    return { instances: [...instances], activities, outbox };
  }

  /**
   * Leases an activity work item. With `etag` (from a query) only one of several competing workers wins;
   * without, it extends the caller's running lease.
   */
  async leaseActivity(
    item: ActivityWorkItem,
    owner: string,
    until: Date,
    etag: string | undefined,
  ): Promise<boolean> {
    try {
      await this.table.updateEntity(
        {
          partitionKey: item.instanceId,
          rowKey: item.rowKey,
          LeaseOwner: owner,
          LeaseUntil: until.toISOString(),
          DequeueCount: item.dequeueCount + (etag === undefined ? 0 : 1),
        },
        'Merge',
        { etag: etag ?? '*' },
      );
      return true;
    } catch (error: unknown) {
      if (isConflict(error) || isNotFound(error)) return false;
      throw error;
    }
  }

  /**
   * Deletes the work item and posts its result to the instance's inbox in one transaction. The delete fails
   * when the row is gone, so when two workers ran the same activity (an expired lease), only the first
   * result is delivered.
   */
  async completeActivity(item: ActivityWorkItem, message: InstanceMessage): Promise<boolean> {
    try {
      await this.table.submitTransaction([
        ['delete', { partitionKey: item.instanceId, rowKey: item.rowKey }],
        ['create', inboxEntity(item.instanceId, item.generation, message, new Date())],
      ]);
      return true;
    } catch (error: unknown) {
      if (isConflict(error) || isNotFound(error)) return false;
      throw error;
    }
  }
}

/** The row of an inbox message, visible from `visibleAt`. */
export function inboxEntity(
  instanceId: string,
  generation: number,
  message: InstanceMessage,
  visibleAt: Date,
): TableEntity {
  return {
    partitionKey: instanceId,
    rowKey: inboxRowKey(visibleAt),
    ...textProperties('Body', JSON.stringify(message)),
    Generation: generation,
  };
}

function toState(entity: Record<string, unknown>): InstanceState {
  const row = stateRowSchema.parse(withTexts(entity, ['Input', 'Output', 'CustomStatus', 'Engine']));
  return {
    instanceId: row.partitionKey,
    etag: row.etag,
    name: row.Name,
    runtimeStatus: row.RuntimeStatus,
    input: row.Input,
    output: row.Output,
    customStatus: row.CustomStatus,
    createdTime: row.CreatedTime,
    lastUpdatedTime: row.LastUpdatedTime,
    generation: row.Generation,
    executionId: row.ExecutionId,
    historyLength: row.HistoryLength,
    engine: engineStateSchema.parse(JSON.parse(row.Engine)),
    leaseOwner: row.LeaseOwner,
    leaseUntil: row.LeaseUntil,
    parent:
      row.ParentInstanceId === ''
        ? undefined
        : { instanceId: row.ParentInstanceId, generation: row.ParentGeneration, taskId: row.ParentTaskId },
  };
}

function fromState(state: InstanceState): TableEntity {
  return {
    partitionKey: state.instanceId,
    rowKey: STATE,
    Name: state.name,
    RuntimeStatus: state.runtimeStatus,
    ...textProperties('Input', state.input),
    ...textProperties('Output', state.output),
    ...textProperties('CustomStatus', state.customStatus),
    CreatedTime: state.createdTime,
    LastUpdatedTime: state.lastUpdatedTime,
    Generation: state.generation,
    ExecutionId: state.executionId,
    HistoryLength: state.historyLength,
    ...textProperties('Engine', JSON.stringify(state.engine)),
    LeaseOwner: state.leaseOwner,
    LeaseUntil: state.leaseUntil,
    ParentInstanceId: state.parent?.instanceId ?? '',
    ParentGeneration: state.parent?.generation ?? 0,
    ParentTaskId: state.parent?.taskId ?? 0,
  };
}

function toInbox(entity: Record<string, unknown>): InboxMessage {
  const row = inboxRowSchema.parse(withTexts(entity, ['Body']));
  return {
    rowKey: row.rowKey,
    id: row.rowKey,
    generation: row.Generation,
    message: instanceMessageSchema.parse(JSON.parse(row.Body)),
  };
}

function toActivity(entity: Record<string, unknown>): ActivityWorkItem {
  const row = activityRowSchema.parse(withTexts(entity, ['Input']));
  return {
    instanceId: row.partitionKey,
    rowKey: row.rowKey,
    etag: row.etag,
    generation: row.Generation,
    taskId: row.TaskId,
    name: row.Name,
    input: row.Input,
    leaseOwner: row.LeaseOwner,
    leaseUntil: row.LeaseUntil,
    dequeueCount: row.DequeueCount,
  };
}
