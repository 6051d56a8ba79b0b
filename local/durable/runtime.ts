/**
 * The local durable runtime: runs orchestration steps (replay through the app's own orchestrator handler,
 * then execution of the new actions it returns) and activities, against the task hub in Table storage.
 *
 * Work produced in this process is picked up at once (in-process wake-ups); polling only finds work other
 * processes produced, timers that came due, and work left behind by a process that died.
 */
import { randomUUID } from 'node:crypto';
import type { TableEntity } from '@azure/data-tables';
import type { Logger } from '../../shared/logger';
import type { FunctionInvoker } from '../functions-host/extension';
import { EventType, historyEvent, type HistoryEvent } from './history';
import { isExecutionScoped, type InstanceMessage, type OutboxItem } from './messages';
import {
  ActionType,
  flattenActions,
  orchestratorStateSchema,
  parseOrchestratorFailure,
  retryDelayMs,
  type Action,
  type OrchestratorState,
  type RetryOptions,
} from './orchestrator-state';
import {
  ACTIVITY,
  INBOX,
  OUTBOX,
  visibleBound,
  activityRowKey,
  historyPrefix,
  historyRows,
  inboxEntity,
  isTooLarge,
  textProperties,
  isTerminal,
  type ActivityWorkItem,
  type EngineState,
  type InboxMessage,
  type InstanceState,
  type RetryState,
  type StoredOutboxItem,
  type TaskHubStore,
} from './task-hub-store';

/**
 * Timer limits passed to the orchestrator handler (schema V3 requires them). The short-timer maximum is far
 * beyond any local run, so every timer is one Durable Task timer and no long-timer splitting is needed.
 */
const MAXIMUM_SHORT_TIMER_DURATION = '36500.00:00:00';
const LONG_RUNNING_TIMER_INTERVAL = '3.00:00:00';
const SCHEMA_V3 = 2;

/** Identity, lease length, poll interval and logger of one runtime. */
export interface RuntimeOptions {
  workerId: string;
  leaseMs: number;
  pollIntervalMs: number;
  /** Activities that run at once in this process; the rest wait, their leases renewed. */
  maxConcurrentActivities: number;
  logger: Logger;
}

interface CachedHistory {
  executionId: string;
  generation: number;
  events: HistoryEvent[];
}

/** An activity result of this process, not yet applied to its instance. */
interface LocalResult {
  item: ActivityWorkItem;
  message: InstanceMessage;
}

/** Everything a step decides, before it is committed. */
interface StepPlan {
  newEvents: HistoryEvent[];
  writes: TableEntity[];
  deletes: string[];
  outbox: StoredOutboxItem[];
  activities: ActivityWorkItem[];
  timers: Date[];
  next: InstanceState;
  oldGenerationToDelete?: number;
}

/** Runs orchestration steps and activities of one task hub in this process. */
export class DurableRuntime {
  private invoker: FunctionInvoker | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private readonly activeActivities = new Set<string>();
  private readonly localResults = new Map<string, LocalResult[]>();
  private runningActivities = 0;
  private readonly waitingForSlot: (() => void)[] = [];
  private readonly history = new Map<string, CachedHistory>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly store: TaskHubStore,
    private readonly options: RuntimeOptions,
  ) {}

  start(invoker: FunctionInvoker): void {
    this.invoker = invoker;
    this.stopped = false;
    this.schedulePoll(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.polling;
    await Promise.allSettled([...this.running.values()]);
    // Results that no step will apply any more are parked in the inbox for whoever runs the instance next.
    for (const [instanceId, results] of this.localResults) await this.postResults(instanceId, results);
    this.localResults.clear();
  }

  /** Runs a step for the instance now, or right after the one in progress. */
  wake(instanceId: string): void {
    if (this.stopped) return;
    if (this.running.has(instanceId)) {
      this.dirty.add(instanceId);
      return;
    }
    const run = (async () => {
      try {
        do {
          this.dirty.delete(instanceId);
          await this.step(instanceId);
        } while (this.dirty.has(instanceId) && !this.stopped);
      } catch (error: unknown) {
        this.history.delete(instanceId);
        this.options.logger.error(
          { err: error, instanceId },
          'orchestration step failed; it will be retried',
        );
      } finally {
        this.running.delete(instanceId);
      }
    })();
    this.running.set(instanceId, run);
  }

  private schedulePoll(delayMs: number): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      this.polling = this.poll().finally(() => this.schedulePoll(this.options.pollIntervalMs));
    }, delayMs);
  }

  private async poll(): Promise<void> {
    try {
      const work = await this.store.findWork(new Date());
      for (const instanceId of work.instances) this.wake(instanceId);
      for (const item of work.activities) {
        if (this.activeActivities.has(activityKey(item))) continue;
        if (await this.store.leaseActivity(item, this.options.workerId, this.leaseEnd(), item.etag))
          this.runActivity(item);
      }
      for (const stored of work.outbox) await this.deliver(stored);
    } catch (error: unknown) {
      this.options.logger.warn({ err: error }, 'durable poll failed');
    }
  }

  private leaseEnd(): Date {
    return new Date(Date.now() + this.options.leaseMs);
  }

  /**
   * One step of an instance. Results of activities this process just ran are applied straight from memory
   * (their work item's delete rides in the step's transaction, which guards against applying them twice);
   * if the step cannot apply them, they go the slow way, through the inbox.
   */
  private async step(instanceId: string): Promise<void> {
    const local = this.localResults.get(instanceId) ?? [];
    this.localResults.delete(instanceId);
    try {
      if (!(await this.stepWith(instanceId, local)) && local.length > 0)
        await this.postResults(instanceId, local);
    } catch (error: unknown) {
      if (local.length > 0) await this.postResults(instanceId, local);
      throw error;
    }
  }

  private async postResults(instanceId: string, results: LocalResult[]): Promise<void> {
    for (const { item, message } of results) {
      await this.store.completeActivity(item, message).catch((error: unknown) => {
        if (!isTooLarge(error) || !('taskId' in message)) throw error;
        // A result storage refuses would be retried forever: the activity fails instead.
        const reason = `Activity function '${item.name}' failed: its result is too large for the local task hub (${errorMessage(error)}); pass large payloads by reference`;
        return this.store.completeActivity(item, {
          type: 'taskFailed',
          taskId: message.taskId,
          reason,
          details: '',
        });
      });
    }
    this.dirty.add(instanceId);
  }

  /** Returns whether the local results were applied. */
  private async stepWith(instanceId: string, local: LocalResult[]): Promise<boolean> {
    const now = new Date();
    const { state, inbox } = await this.store.readInstanceAndInbox(instanceId);
    if (state === undefined) {
      // Messages for a purged instance: nobody will ever read them.
      await this.store.deleteRows(
        instanceId,
        [...inbox, ...local.map(({ item }) => item)].map((m) => m.rowKey),
      );
      return true;
    }
    const bound = visibleBound(now);
    const visible: InboxMessage[] = [
      ...inbox.filter((m) => m.rowKey <= bound),
      ...local.map(({ item, message }) => ({
        rowKey: item.rowKey,
        id: item.rowKey,
        generation: item.generation,
        message,
      })),
    ];
    if (visible.length === 0) return false;
    const leaseEtag = await this.store.claim(state, this.options.workerId, this.options.leaseMs, now);
    if (leaseEtag === undefined || isTerminal(state.runtimeStatus)) {
      if (leaseEtag !== undefined) {
        await this.store.deleteRows(
          instanceId,
          visible.map((m) => m.rowKey),
        );
        await this.store.release(state, leaseEtag);
        return true;
      }
      return false;
    }

    const history = await this.loadHistory(state);
    const plan = await this.plan(state, history, visible, inbox, now);
    // Nothing to apply (a suspended instance's waiting messages): leave the row alone.
    if (
      plan.writes.length === 0 &&
      plan.deletes.length === 0 &&
      plan.next.runtimeStatus === state.runtimeStatus
    ) {
      return local.length === 0;
    }
    if (!(await this.commitOrFail(state, plan, leaseEtag))) {
      this.history.delete(instanceId);
      return false;
    }
    this.history.set(instanceId, {
      executionId: plan.next.executionId,
      generation: plan.next.generation,
      events: plan.next.generation === state.generation ? [...history, ...plan.newEvents] : [],
    });
    this.afterCommit(instanceId, plan);
    // A suspended or terminated instance leaves some results unconsumed: they wait in the inbox.
    const unconsumed = local.filter((result) => !plan.deletes.includes(result.item.rowKey));
    if (unconsumed.length > 0) await this.postResults(instanceId, unconsumed);
    return true;
  }

  /**
   * Commits a step; a step storage refuses outright (a payload beyond Table storage's limits) would fail on
   * every retry, so the instance fails instead, with the reason in its status.
   */
  private async commitOrFail(state: InstanceState, plan: StepPlan, leaseEtag: string): Promise<boolean> {
    try {
      return await this.store.commit(state.instanceId, plan.writes, plan.deletes, plan.next, leaseEtag);
    } catch (error: unknown) {
      if (!isTooLarge(error)) throw error;
      const message = `Orchestrator function '${state.name}' failed: the local task hub could not store this step (${errorMessage(error)}); pass large payloads by reference`;
      this.options.logger.error({ err: error, instanceId: state.instanceId }, message);
      const failed: InstanceState = {
        ...plan.next,
        generation: state.generation,
        executionId: state.executionId,
        input: state.input,
        historyLength: state.historyLength,
        runtimeStatus: 'Failed',
        output: JSON.stringify(message),
        customStatus: '',
        leaseOwner: '',
        leaseUntil: '',
      };
      plan.newEvents = [];
      plan.activities = [];
      plan.timers = [];
      plan.outbox = [];
      plan.oldGenerationToDelete = undefined;
      return this.store.commit(state.instanceId, [], plan.deletes, failed, leaseEtag);
    }
  }

  private async loadHistory(state: InstanceState): Promise<HistoryEvent[]> {
    const cached = this.history.get(state.instanceId);
    if (
      cached?.executionId === state.executionId &&
      cached.generation === state.generation &&
      cached.events.length === state.historyLength
    ) {
      return cached.events;
    }
    return this.store.readHistory(state.instanceId, state.generation, state.historyLength);
  }

  /** Turns inbox messages into history, replays, and plans the effects of the new actions. */
  private async plan(
    state: InstanceState,
    history: HistoryEvent[],
    visible: InboxMessage[],
    inbox: InboxMessage[],
    now: Date,
  ): Promise<StepPlan> {
    const engine: EngineState = structuredClone(state.engine);
    // The step keeps the lease (see `TaskHubStore.claim`); `finish` gives it up.
    const next: InstanceState = {
      ...state,
      engine,
      leaseOwner: this.options.workerId,
      leaseUntil: this.leaseEnd().toISOString(),
      lastUpdatedTime: now.toISOString(),
    };
    const plan: StepPlan = {
      newEvents: [],
      writes: [],
      deletes: [],
      outbox: [],
      activities: [],
      timers: [],
      next,
    };
    const applied = new Set(history.map((e) => e.MessageId).filter((id) => id !== undefined));
    // A task's result counts once, even if a redone step let its work run twice.
    const resultTypes: number[] = [
      EventType.TaskCompleted,
      EventType.TaskFailed,
      EventType.SubOrchestrationInstanceCompleted,
      EventType.SubOrchestrationInstanceFailed,
    ];
    const finishedTasks = new Set(
      history.filter((e) => resultTypes.includes(e.EventType)).map((e) => e['TaskScheduledId']),
    );
    // Retry bookkeeping hands out task ids while the library processes these events, before the orchestrator
    // resumes; putting them first keeps our id sequence and the library's in step.
    const idConsuming: HistoryEvent[] = [];
    const others: HistoryEvent[] = [];
    const scheduled: HistoryEvent[] = [];
    let terminateReason: string | undefined;

    for (const inboxMessage of visible) {
      const { message } = inboxMessage;
      if (applied.has(inboxMessage.id)) {
        plan.deletes.push(inboxMessage.rowKey);
        continue;
      }
      if (isExecutionScoped(message) && inboxMessage.generation !== state.generation) {
        plan.deletes.push(inboxMessage.rowKey);
        continue;
      }
      if ('taskId' in message && finishedTasks.has(message.taskId)) {
        plan.deletes.push(inboxMessage.rowKey);
        continue;
      }
      if ('taskId' in message) finishedTasks.add(message.taskId);
      const tagged = (event: HistoryEvent): HistoryEvent => ({ ...event, MessageId: inboxMessage.id });
      if (message.type === 'terminate') {
        terminateReason = message.reason;
        plan.deletes.push(inboxMessage.rowKey);
        break;
      }
      if (next.runtimeStatus === 'Suspended' && message.type !== 'resume') continue;
      plan.deletes.push(inboxMessage.rowKey);
      switch (message.type) {
        case 'start':
          if (!history.some((e) => e.EventType === EventType.ExecutionStarted)) {
            others.push(tagged(this.executionStarted(state, now)));
            next.runtimeStatus = 'Running';
          }
          break;
        case 'suspend':
          others.push(tagged(historyEvent(EventType.ExecutionSuspended, now, { Reason: message.reason })));
          next.runtimeStatus = 'Suspended';
          break;
        case 'resume':
          if (next.runtimeStatus === 'Suspended') {
            others.push(tagged(historyEvent(EventType.ExecutionResumed, now, { Reason: message.reason })));
            next.runtimeStatus = 'Running';
          }
          break;
        case 'eventRaised':
          others.push(
            tagged(historyEvent(EventType.EventRaised, now, { Name: message.name, Input: message.input })),
          );
          break;
        case 'taskCompleted':
        case 'subCompleted': {
          delete engine.retries[String(message.taskId)];
          const type =
            message.type === 'taskCompleted'
              ? EventType.TaskCompleted
              : EventType.SubOrchestrationInstanceCompleted;
          others.push(
            tagged(historyEvent(type, now, { TaskScheduledId: message.taskId, Result: message.result })),
          );
          break;
        }
        case 'taskFailed':
        case 'subFailed': {
          const type =
            message.type === 'taskFailed' ? EventType.TaskFailed : EventType.SubOrchestrationInstanceFailed;
          const event = tagged(
            historyEvent(type, now, {
              TaskScheduledId: message.taskId,
              Reason: message.reason,
              Details: message.details,
            }),
          );
          const retry = engine.retries[String(message.taskId)];
          delete engine.retries[String(message.taskId)];
          if (retry === undefined) {
            others.push(event);
            break;
          }
          // Durable Task waits on a timer after every failed attempt, the last one included.
          idConsuming.push(event);
          const timerId = engine.nextId++;
          const fireAt = new Date(now.getTime() + retryDelayMs(retry.options, retry.attempt));
          engine.retries[String(timerId)] = retry;
          scheduled.push(
            historyEvent(EventType.TimerCreated, now, { FireAt: fireAt.toISOString() }, timerId),
          );
          this.planTimer(plan, state, timerId, fireAt);
          break;
        }
        case 'timerFired': {
          const event = tagged(
            historyEvent(EventType.TimerFired, now, { TimerId: message.timerId, FireAt: message.fireAt }),
          );
          const retry = engine.retries[String(message.timerId)];
          delete engine.retries[String(message.timerId)];
          if (retry === undefined || retry.attempt >= retry.options.maxNumberOfAttempts) {
            others.push(event);
            break;
          }
          idConsuming.push(event);
          const attemptId = engine.nextId++;
          const again: RetryState = { ...retry, attempt: retry.attempt + 1 };
          engine.retries[String(attemptId)] = again;
          scheduled.push(this.planAttempt(plan, state, attemptId, again, now));
          break;
        }
      }
    }

    const started = historyEvent(EventType.OrchestratorStarted, now);
    if (terminateReason !== undefined) {
      const events = [started, historyEvent(EventType.ExecutionTerminated, now, { Input: terminateReason })];
      next.runtimeStatus = 'Terminated';
      next.output = JSON.stringify(terminateReason);
      this.finish(plan, state, inbox, events, { failed: `Orchestration terminated: ${terminateReason}` });
      return plan;
    }

    const episode = [...idConsuming, ...others];
    const startedNow = history.length === 0 && others.some((e) => e.EventType === EventType.ExecutionStarted);
    const canRun = next.runtimeStatus === 'Running' && (history.length > 0 || startedNow);
    if (!canRun || episode.length === 0) {
      this.appendHistory(plan, state, episode.length === 0 ? [] : [started, ...episode, ...scheduled]);
      return plan;
    }

    const outcome = await this.replay(state, [...history.map(played), started, ...episode]);
    const events: HistoryEvent[] = [started, ...episode, ...scheduled];
    const customStatus = outcome.state?.customStatus;
    next.customStatus =
      customStatus === undefined || customStatus === null ? '' : JSON.stringify(customStatus);

    let failure = outcome.failure;
    let continueInput: string | undefined;
    if (outcome.state !== undefined && failure === undefined) {
      const actions = flattenActions(outcome.state);
      const fresh = actions.slice(engine.actionCount);
      engine.actionCount = actions.length;
      for (const action of fresh) {
        const result = this.planAction(plan, state, action, now);
        if (result.kind === 'event') events.push(result.event);
        else if (result.kind === 'continueAsNew') continueInput = result.input;
        else if (result.kind === 'unsupported') {
          failure = result.message;
          break;
        }
      }
    }

    events.push(historyEvent(EventType.OrchestratorCompleted, now));
    if (failure !== undefined) {
      const message = `Orchestrator function '${state.name}' failed: ${failure}`;
      next.runtimeStatus = 'Failed';
      next.output = JSON.stringify(message);
      events.push(
        historyEvent(EventType.ExecutionCompleted, now, { OrchestrationStatus: 'Failed', Result: message }),
      );
      this.finish(plan, state, inbox, events, { failed: message });
    } else if (continueInput !== undefined) {
      this.appendHistory(plan, state, events);
      next.generation = state.generation + 1;
      next.executionId = randomUUID();
      next.historyLength = 0;
      next.input = continueInput;
      next.engine = { nextId: 0, actionCount: 0, retries: {} };
      next.runtimeStatus = 'Running';
      plan.oldGenerationToDelete = state.generation;
      plan.writes.push(inboxEntity(state.instanceId, next.generation, { type: 'start' }, now));
    } else if (outcome.state?.isDone === true) {
      next.runtimeStatus = 'Completed';
      next.output = JSON.stringify(outcome.state.output ?? null);
      events.push(
        historyEvent(EventType.ExecutionCompleted, now, {
          OrchestrationStatus: 'Completed',
          Result: next.output,
        }),
      );
      this.finish(plan, state, inbox, events, { output: next.output });
    } else {
      this.appendHistory(plan, state, events);
    }
    return plan;
  }

  /** Appends events to the current generation's history rows. */
  private appendHistory(plan: StepPlan, state: InstanceState, events: HistoryEvent[]): void {
    plan.writes.push(...historyRows(state.instanceId, state.generation, state.historyLength, events));
    plan.newEvents.push(...events);
    if (plan.next.generation === state.generation)
      plan.next.historyLength = state.historyLength + events.length;
  }

  /** Ends the instance: final history, inbox cleared, parent told. */
  private finish(
    plan: StepPlan,
    state: InstanceState,
    inbox: InboxMessage[],
    events: HistoryEvent[],
    result: { output: string } | { failed: string },
  ): void {
    this.appendHistory(plan, state, events);
    plan.next.leaseOwner = '';
    plan.next.leaseUntil = '';
    plan.activities = [];
    plan.timers = [];
    plan.writes = plan.writes.filter(
      (row) => !String(row.rowKey).startsWith(ACTIVITY) && !String(row.rowKey).startsWith(INBOX),
    );
    for (const m of inbox) if (!plan.deletes.includes(m.rowKey)) plan.deletes.push(m.rowKey);
    const parent = state.parent;
    if (parent !== undefined) {
      const message: InstanceMessage =
        'output' in result
          ? { type: 'subCompleted', taskId: parent.taskId, result: result.output }
          : { type: 'subFailed', taskId: parent.taskId, reason: result.failed, details: '' };
      this.planOutbox(plan, state, {
        kind: 'message',
        instanceId: parent.instanceId,
        generation: parent.generation,
        message,
      });
    }
  }

  private planAction(
    plan: StepPlan,
    state: InstanceState,
    action: Action,
    now: Date,
  ):
    | { kind: 'event'; event: HistoryEvent }
    | { kind: 'continueAsNew'; input: string }
    | { kind: 'none' }
    | { kind: 'unsupported'; message: string } {
    const engine = plan.next.engine;
    switch (action.actionType) {
      case ActionType.CallActivity:
      case ActionType.CallActivityWithRetry:
      case ActionType.CallSubOrchestrator:
      case ActionType.CallSubOrchestratorWithRetry: {
        const id = engine.nextId++;
        const isActivity = action.actionType <= ActionType.CallActivityWithRetry;
        const attempt: RetryState = {
          kind: isActivity ? 'activity' : 'subOrchestration',
          name: action.functionName ?? '',
          input: isActivity ? activityInputText(action.input) : JSON.stringify(action.input ?? null),
          options: action.retryOptions ?? noRetry,
          attempt: 1,
          firstAttemptAt: now.toISOString(),
          childInstanceId: action.instanceId,
        };
        if (action.retryOptions !== undefined) engine.retries[String(id)] = attempt;
        return { kind: 'event', event: this.planAttempt(plan, state, id, attempt, now) };
      }
      case ActionType.CreateTimer: {
        const id = engine.nextId++;
        const fireAt = new Date(action.fireAt ?? now.toISOString());
        if (action.isCanceled !== true) this.planTimer(plan, state, id, fireAt);
        return {
          kind: 'event',
          event: historyEvent(EventType.TimerCreated, now, { FireAt: fireAt.toISOString() }, id),
        };
      }
      case ActionType.WaitForExternalEvent:
      case ActionType.ReleaseEntities:
        return { kind: 'none' };
      case ActionType.ContinueAsNew:
        return { kind: 'continueAsNew', input: activityInputText(action.input) };
      default:
        return {
          kind: 'unsupported',
          message: `action type ${action.actionType} (entities, durable HTTP) is not supported by the local durable runtime`,
        };
    }
  }

  /** Schedules one attempt of an activity or sub-orchestration under task id `id`. */
  private planAttempt(
    plan: StepPlan,
    state: InstanceState,
    id: number,
    attempt: RetryState,
    now: Date,
  ): HistoryEvent {
    if (attempt.kind === 'activity') {
      const rowKey = activityRowKey(state.generation, id);
      // Written already leased to this worker, which runs it right after the commit.
      const leaseUntil = this.leaseEnd().toISOString();
      plan.writes.push({
        partitionKey: state.instanceId,
        rowKey,
        Name: attempt.name,
        ...textProperties('Input', attempt.input),
        Generation: state.generation,
        TaskId: id,
        LeaseOwner: this.options.workerId,
        LeaseUntil: leaseUntil,
        DequeueCount: 1,
      });
      plan.activities.push({
        instanceId: state.instanceId,
        rowKey,
        etag: '',
        generation: state.generation,
        taskId: id,
        name: attempt.name,
        input: attempt.input,
        leaseOwner: this.options.workerId,
        leaseUntil,
        dequeueCount: 1,
      });
      return historyEvent(EventType.TaskScheduled, now, { Name: attempt.name, Input: attempt.input }, id);
    }
    const childId = attempt.childInstanceId ?? `${state.instanceId}:${id}`;
    this.planOutbox(plan, state, {
      kind: 'createChild',
      instanceId: childId,
      name: attempt.name,
      input: attempt.input,
      parentInstanceId: state.instanceId,
      parentGeneration: state.generation,
      parentTaskId: id,
    });
    return historyEvent(
      EventType.SubOrchestrationInstanceCreated,
      now,
      { Name: attempt.name, InstanceId: childId, Input: attempt.input },
      id,
    );
  }

  private planTimer(plan: StepPlan, state: InstanceState, timerId: number, fireAt: Date): void {
    const message: InstanceMessage = { type: 'timerFired', timerId, fireAt: fireAt.toISOString() };
    plan.writes.push(inboxEntity(state.instanceId, state.generation, message, fireAt));
    plan.timers.push(fireAt);
  }

  private planOutbox(plan: StepPlan, state: InstanceState, item: OutboxItem): void {
    const rowKey = `${OUTBOX}${randomUUID()}`;
    plan.outbox.push({ instanceId: state.instanceId, rowKey, item });
    plan.writes.push({
      partitionKey: state.instanceId,
      rowKey,
      ...textProperties('Body', JSON.stringify(item)),
    });
  }

  private executionStarted(state: InstanceState, now: Date): HistoryEvent {
    return historyEvent(EventType.ExecutionStarted, now, {
      Name: state.name,
      Input: state.input === '' ? undefined : state.input,
      OrchestrationInstance: { InstanceId: state.instanceId, ExecutionId: state.executionId },
      ParentInstance:
        state.parent === undefined
          ? undefined
          : { OrchestrationInstance: { InstanceId: state.parent.instanceId } },
    });
  }

  private async replay(
    state: InstanceState,
    events: HistoryEvent[],
  ): Promise<{ state?: OrchestratorState; failure?: string }> {
    const invoker = this.requireInvoker();
    if (invoker.get(state.name) === undefined)
      return { failure: `no orchestrator function named '${state.name}' is registered` };
    const binding = {
      history: events,
      input: state.input === '' ? undefined : (JSON.parse(state.input) as unknown),
      instanceId: state.instanceId,
      isReplaying: events.some((e) => e.IsPlayed),
      parentInstanceId: state.parent?.instanceId,
      upperSchemaVersion: SCHEMA_V3,
      maximumShortTimerDuration: MAXIMUM_SHORT_TIMER_DURATION,
      longRunningTimerIntervalDuration: LONG_RUNNING_TIMER_INTERVAL,
    };
    try {
      const result = await invoker.invoke(state.name, { triggerData: { json: JSON.stringify(binding) } });
      const parsed = orchestratorStateSchema.safeParse(result.returnValue);
      if (!parsed.success)
        return { failure: `the orchestrator returned an unexpected state: ${parsed.error.message}` };
      return { state: parsed.data };
    } catch (error: unknown) {
      const { message, state: failedState } = parseOrchestratorFailure(errorMessage(error));
      return failedState === undefined ? { failure: message } : { failure: message, state: failedState };
    }
  }

  private afterCommit(instanceId: string, plan: StepPlan): void {
    for (const item of plan.activities) this.runActivity(item);
    for (const fireAt of plan.timers) {
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          this.wake(instanceId);
        },
        Math.max(0, fireAt.getTime() - Date.now()) + 5,
      );
      this.timers.add(timer);
    }
    for (const stored of plan.outbox) {
      void this.deliver(stored).catch((error: unknown) =>
        this.options.logger.warn({ err: error, instanceId }, 'outbox delivery failed; the poller will retry'),
      );
    }
    if (plan.oldGenerationToDelete !== undefined) {
      this.wake(instanceId);
      void this.deleteGeneration(instanceId, plan.oldGenerationToDelete);
    }
  }

  private async deleteGeneration(instanceId: string, generation: number): Promise<void> {
    try {
      await this.store.deleteRows(
        instanceId,
        await this.store.rowKeysWithPrefix(instanceId, historyPrefix(generation)),
      );
    } catch (error: unknown) {
      this.options.logger.warn(
        { err: error, instanceId },
        'could not delete the history of a previous generation',
      );
    }
  }

  /** Idempotent: a child that already exists is not created twice; a message is deduplicated by its target. */
  private async deliver(stored: StoredOutboxItem): Promise<void> {
    const { item } = stored;
    if (item.kind === 'createChild') {
      const existing = await this.store.readInstance(item.instanceId);
      const parent = existing?.parent;
      // Delivered before (the poller can race the in-process delivery): never start the same attempt twice.
      const delivered = parent?.instanceId === item.parentInstanceId && parent.taskId === item.parentTaskId;
      if (!delivered)
        await this.store.createInstance({
          instanceId: item.instanceId,
          name: item.name,
          input: item.input,
          now: new Date(),
          parent: {
            instanceId: item.parentInstanceId,
            generation: item.parentGeneration,
            taskId: item.parentTaskId,
          },
        });
    } else {
      await this.store.send(item.instanceId, item.generation, item.message);
    }
    await this.store.deleteRows(stored.instanceId, [stored.rowKey]);
    this.wake(item.instanceId);
  }

  /** Runs an activity, renewing its lease while it runs, and posts the result. */
  private runActivity(item: ActivityWorkItem): void {
    const key = activityKey(item);
    if (this.activeActivities.has(key)) return;
    this.activeActivities.add(key);
    const renew = setInterval(
      () =>
        void this.store
          .leaseActivity(item, this.options.workerId, this.leaseEnd(), undefined)
          .catch(() => false),
      Math.max(50, Math.floor(this.options.leaseMs / 3)),
    );
    void (async () => {
      let message: InstanceMessage;
      await this.activitySlot();
      try {
        const result = await this.requireInvoker().invoke(item.name, { triggerData: { json: item.input } });
        message = {
          type: 'taskCompleted',
          taskId: item.taskId,
          result: JSON.stringify(result.returnValue ?? null),
        };
      } catch (error: unknown) {
        message = {
          type: 'taskFailed',
          taskId: item.taskId,
          reason: `Activity function '${item.name}' failed: ${errorMessage(error)}`,
          details: JSON.stringify({
            Message: errorMessage(error),
            StackTrace: error instanceof Error ? (error.stack ?? '') : '',
          }),
        };
      } finally {
        clearInterval(renew);
        this.releaseActivitySlot();
      }
      const results = this.localResults.get(item.instanceId) ?? [];
      results.push({ item, message });
      this.localResults.set(item.instanceId, results);
      this.wake(item.instanceId);
    })()
      .catch((error: unknown) =>
        this.options.logger.error({ err: error, activity: item.name }, 'activity completion failed'),
      )
      .finally(() => this.activeActivities.delete(key));
  }

  /** Waits until fewer than `maxConcurrentActivities` activities run in this process. */
  private async activitySlot(): Promise<void> {
    if (this.runningActivities < this.options.maxConcurrentActivities) {
      this.runningActivities++;
      return;
    }
    // The slot is handed over by `releaseActivitySlot`, so the count stays as it is.
    await new Promise<void>((resolve) => this.waitingForSlot.push(resolve));
  }

  private releaseActivitySlot(): void {
    const next = this.waitingForSlot.shift();
    if (next) next();
    else this.runningActivities--;
  }

  private requireInvoker(): FunctionInvoker {
    if (this.invoker === undefined) throw new Error('The durable runtime has not been started.');
    return this.invoker;
  }
}

const noRetry: RetryOptions = { firstRetryIntervalInMilliseconds: 1, maxNumberOfAttempts: 1 };

/** durable-functions pre-serialises string inputs of activities (`Utils.processInput`); others are values. */
function activityInputText(input: unknown): string {
  return typeof input === 'string' ? input : JSON.stringify(input ?? null);
}

function played(event: HistoryEvent): HistoryEvent {
  return { ...event, IsPlayed: true };
}

function activityKey(item: { instanceId: string; rowKey: string }): string {
  return `${item.instanceId}/${item.rowKey}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
