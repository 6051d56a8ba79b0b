import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DocumentExistsError } from '../adapters/cosmos-store';
import { emptyUsage } from '../engine/iteration-result';
import { workflowReport } from '../engine/workflow-report';
import { AppError } from '../errors';
import type { MockupInventoryRepository } from '../mockups/inventory-repository';
import { finishedStatuses, instanceIdFor, jobStatusSchema, type JobDocument } from '../jobs/job';
import type { JobRepository } from '../jobs/job-repository';
import type { Caller, JobOrchestrations, JobService } from '../jobs/job-service';
import { JobWorkflowStore } from '../jobs/job-workflow-store';
import { strategyOf } from '../jobs/orchestration-contract';
import { turnDocumentId, type ConversationRepository, type TurnDocument } from './conversation-repository';

/** The body of `POST /api/v1/jobs/{jobId}/messages`; the byte limit is a setting, checked by the service. */
export const postMessageBodySchema = z.object({
  message: z
    .string()
    .trim()
    .min(1, 'message must not be empty')
    .describe(
      'What to change in the finished specification, in plain words ("add SEPA", "split the admin part out"). Treated as data: it cannot change the output format or the engine’s instructions.',
    ),
});
export type PostMessageBody = z.infer<typeof postMessageBodySchema>;

export const listMessagesQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(4000).optional(),
});
export type ListMessagesQuery = z.infer<typeof listMessagesQuerySchema>;

export const conversationTurnViewSchema = z.object({
  turn: z.number().int().positive().describe('1 for the first message; in the order they were sent.'),
  message: z.string().describe('The message as the user sent it.'),
  createdAt: z.string(),
  parentJobId: z.string().describe('The job whose specification the message was applied to.'),
  job: z.object({
    id: z.string().describe('The job that applied the message: a job like any other.'),
    status: jobStatusSchema,
    summary: z
      .string()
      .optional()
      .describe('What the turn changed (the refinement pass’s summary), once it ran.'),
    errorCode: z.string().optional().describe('Why the turn failed, when it did.'),
    links: z.object({ self: z.string() }),
  }),
});
export type ConversationTurnView = z.infer<typeof conversationTurnViewSchema>;

export const conversationPageSchema = z.object({
  conversationId: z.string().describe('The conversation’s first job; every turn’s job shares it.'),
  items: z.array(conversationTurnViewSchema),
  nextCursor: z.string().optional(),
});
export type ConversationPage = z.infer<typeof conversationPageSchema>;

export interface ConversationServiceOptions {
  jobs: JobRepository;
  jobService: JobService;
  turns: ConversationRepository;
  inventories: Pick<MockupInventoryRepository, 'forJob' | 'save'>;
  /** `MAX_MESSAGE_BYTES`. */
  maxMessageBytes: number;
  now?: () => Date;
  newId?: () => string;
}

/**
 * Refinement by conversation: a message on a completed job becomes a new job (a turn) that applies it to the
 * specification the job finished with, through the same workflow engine (refinement pass, then the judge).
 * Turns are linked (`conversation.parentJobId`, `conversation.turn`) and their history is kept per
 * conversation; each turn is a job, so it is audited, admitted under the plan's quotas and metered like one.
 */
export class ConversationService {
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(private readonly options: ConversationServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? (() => randomUUID());
  }

  /**
   * Starts the next turn on the caller's completed job. 409 `job_not_completed` when the job has no finished
   * specification, 409 `turn_in_progress` while the conversation's previous turn runs (or a concurrent
   * message took the turn), 413 beyond the message size limit.
   */
  async post(
    caller: Caller,
    jobId: string,
    body: PostMessageBody,
    orchestrations: JobOrchestrations,
  ): Promise<JobDocument> {
    const messageBytes = Buffer.byteLength(body.message, 'utf8');
    if (messageBytes > this.options.maxMessageBytes) {
      throw new AppError(
        'payload_too_large',
        `The message is ${messageBytes} bytes; at most ${this.options.maxMessageBytes} are accepted.`,
      );
    }
    const parent = await this.options.jobService.get(caller, jobId);
    if (parent.status !== 'completed') {
      throw new AppError(
        'job_not_completed',
        `Job ${jobId} is ${parent.status}; only a completed job can take a message.`,
      );
    }
    if (parent.mode === 'system') {
      // A message about a backlog names no story; each story's job takes messages of its own.
      throw new AppError(
        'conflict',
        `Job ${jobId} is a backlog; send the message to the job of the story it is about (result.system.stories[].jobId).`,
      );
    }
    const conversationId = parent.conversation?.id ?? parent.id;
    const latest = await this.options.turns.latest(caller.tenantId, caller.userId, conversationId);
    if (latest) await this.refuseWhileRunning(caller, latest);

    const turn = (latest?.turn ?? 0) + 1;
    const job = await this.turnJob(caller, parent, {
      id: conversationId,
      parentJobId: parent.id,
      turn,
      message: body.message,
    });
    const record: TurnDocument = {
      id: turnDocumentId(conversationId, turn),
      tenantId: caller.tenantId,
      type: 'conversationTurn',
      userId: caller.userId,
      conversationId,
      turn,
      parentJobId: parent.id,
      jobId: job.id,
      message: body.message,
      createdAt: job.createdAt,
    };
    try {
      await this.options.turns.create(record);
    } catch (error: unknown) {
      if (!(error instanceof DocumentExistsError)) throw error;
      throw new AppError('turn_in_progress', `Turn ${turn} of this conversation was just started; retry.`);
    }
    const plan = await this.options.jobService.planFor(caller);
    try {
      return await this.options.jobService.submit(caller, job, plan.limits, orchestrations, {
        conversationId,
        parentJobId: parent.id,
        turn,
      });
    } catch (error: unknown) {
      // A turn refused (quota, audit) must not hold its number: the user sends the message again later.
      await this.options.turns.delete(caller.tenantId, record.id).catch(() => undefined);
      throw error;
    }
  }

  private async refuseWhileRunning(caller: Caller, latest: TurnDocument): Promise<void> {
    const job = await this.options.jobs.find(caller.tenantId, latest.jobId);
    if (job && !finishedStatuses.has(job.status)) {
      throw new AppError(
        'turn_in_progress',
        `Turn ${latest.turn} (job ${latest.jobId}) is still ${job.status}; send the next message when it has finished.`,
      );
    }
  }

  /** The turn as a job: the parent's input and options, judge on, starting from the parent's final story. */
  private async turnJob(
    caller: Caller,
    parent: JobDocument,
    conversation: NonNullable<JobDocument['conversation']>,
  ): Promise<JobDocument> {
    const store = new JobWorkflowStore(this.options.jobs, parent, this.options.inventories);
    const { story } = await workflowReport(
      store,
      strategyOf(parent.mode),
      parent.backlogContext?.context.vocabulary,
    );
    const id = this.newId();
    return {
      id,
      tenantId: caller.tenantId,
      userId: caller.userId,
      ...(parent.requestedBy ? { requestedBy: parent.requestedBy } : {}),
      type: 'job',
      status: 'queued',
      mode: 'workflow',
      productType: parent.productType,
      iterations: [],
      story: parent.story,
      options: { ...parent.options, review: true },
      uploads: [],
      progress: { completed: 0, total: 0, current: null },
      createdAt: this.now().toISOString(),
      usage: emptyUsage(),
      workingStory: story,
      // A story of a backlog keeps the backlog's names through its conversation.
      ...(parent.backlogContext ? { backlogContext: parent.backlogContext } : {}),
      conversation,
      cancelRequested: false,
      instanceId: instanceIdFor(id),
    };
  }

  /** The conversation the job belongs to, its turns in order with each turn's job status and summary. */
  async history(caller: Caller, jobId: string, query: ListMessagesQuery): Promise<ConversationPage> {
    const job = await this.options.jobService.get(caller, jobId);
    const conversationId = job.conversation?.id ?? job.id;
    const page = await this.options.turns.list(caller.tenantId, caller.userId, conversationId, {
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    const items = await Promise.all(
      page.items.map(async (turn): Promise<ConversationTurnView> => {
        const turnJob = await this.options.jobs.find(caller.tenantId, turn.jobId);
        const summary = turnJob?.result?.passes.find((pass) => pass.id === 'refinement')?.summary;
        return {
          turn: turn.turn,
          message: turn.message,
          createdAt: turn.createdAt,
          parentJobId: turn.parentJobId,
          job: {
            id: turn.jobId,
            status: turnJob?.status ?? 'failed',
            ...(summary ? { summary } : {}),
            ...(turnJob?.error ? { errorCode: turnJob.error.code } : {}),
            links: { self: `/api/v1/jobs/${turn.jobId}` },
          },
        };
      }),
    );
    return { conversationId, items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  }
}
