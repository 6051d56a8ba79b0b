import type { InvocationContext } from '@azure/functions';
import type { Principal } from '../auth/principal';
import { toAppError } from '../errors';
import type { ApiResponse } from '../http/route';
import type { Logger } from '../logger';
import {
  relayJobProgressToChat,
  type ChatMessageRef,
  type ChatProgressRelay,
} from '../openwebui/chat-progress';
import type { ConnectionService } from '../openwebui/connection-service';
import type { ProgressService } from '../progress/progress-service';
import type { UsageService } from '../usage/usage-service';
import { durableOrchestrations } from './durable-orchestrations';
import { finishedStatuses, toJobView, type JobDocument } from './job';
import type { CreateJobBody, JobService } from './job-service';

/** What the sync run endpoints use. */
export interface RunAndWaitServices {
  jobs: JobService;
  usageService: UsageService;
  openWebUi: ConnectionService;
  progress: ProgressService;
  logger: Logger;
}

/**
 * The sync run endpoints: create the job, wait up to `waitSeconds`, answer 200 when finished, else 202. A call
 * through an OpenWebUI connection that can post progress, naming its chat message, sees the job's progress
 * in that chat meanwhile.
 */
export async function runAndWait(
  services: RunAndWaitServices,
  caller: Principal,
  body: CreateJobBody & { waitSeconds: number },
  context: InvocationContext,
  request: {
    idempotencyKey: string | undefined;
    clientGone: AbortSignal | undefined;
    chat: ChatMessageRef | undefined;
  },
): Promise<ApiResponse> {
  const { waitSeconds, ...jobBody } = body;
  const created = await services.jobs.create(
    caller,
    jobBody,
    durableOrchestrations(context),
    request.idempotencyKey,
  );
  const relay = request.chat && (await chatRelay(services, caller, created, request.chat));
  let job: JobDocument | undefined;
  try {
    // A caller that disconnects stops the wait, not the job: it can still be fetched, like any 202 answer.
    job = await services.jobs.waitForFinish(caller, created.id, waitSeconds, request.clientGone);
  } finally {
    await relay?.finish(job && finishedStatuses.has(job.status) ? 'finished' : 'still_running');
  }
  const view = toJobView(job);
  const usageHeaders = await services.usageService.headers(caller, job);
  return finishedStatuses.has(job.status)
    ? { status: 200, body: view, headers: usageHeaders }
    : { status: 202, body: view, headers: { location: view.links.self, ...usageHeaders } };
}

/** Starts relaying the job's progress to the chat, when the caller's connection can post; never throws. */
async function chatRelay(
  services: RunAndWaitServices,
  caller: Principal,
  job: JobDocument,
  message: ChatMessageRef,
): Promise<ChatProgressRelay | undefined> {
  try {
    const target = await services.openWebUi.eventTarget(caller);
    if (!target) return undefined;
    return relayJobProgressToChat({
      feeds: services.progress.feeds,
      ref: { tenantId: job.tenantId, jobId: job.id },
      target,
      message,
      logger: services.logger,
    });
  } catch (error: unknown) {
    services.logger.warn(
      { connectionId: caller.connectionId, code: toAppError(error).code },
      'chat progress not started',
    );
    return undefined;
  }
}
