import type { InvocationContext } from '@azure/functions';
import type { ApiResponse } from '../http/route';
import type { UsageService } from '../usage/usage-service';
import { durableOrchestrations } from './durable-orchestrations';
import { finishedStatuses, toJobView } from './job';
import type { Caller, CreateJobBody, JobService } from './job-service';

/** The sync run endpoints: create the job, wait up to `waitSeconds`, answer 200 when finished, else 202. */
export async function runAndWait(
  services: { jobs: JobService; usageService: UsageService },
  caller: Caller,
  body: CreateJobBody & { waitSeconds: number },
  context: InvocationContext,
  request: { idempotencyKey: string | undefined; clientGone: AbortSignal | undefined },
): Promise<ApiResponse> {
  const { waitSeconds, ...jobBody } = body;
  const created = await services.jobs.create(
    caller,
    jobBody,
    durableOrchestrations(context),
    request.idempotencyKey,
  );
  // A caller that disconnects stops the wait, not the job: it can still be fetched, like any 202 answer.
  const job = await services.jobs.waitForFinish(caller, created.id, waitSeconds, request.clientGone);
  const view = toJobView(job);
  const usageHeaders = await services.usageService.headers(caller, job);
  return finishedStatuses.has(job.status)
    ? { status: 200, body: view, headers: usageHeaders }
    : { status: 202, body: view, headers: { location: view.links.self, ...usageHeaders } };
}
