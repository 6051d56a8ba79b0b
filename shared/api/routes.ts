import { z } from 'zod';
import { planPatchSchema } from '../admin/admin-service';
import {
  alertsQuerySchema,
  scanBodySchema,
  scanResultSchema,
  usageAlertViewSchema,
} from '../alerts/usage-alert';
import { verifyResultSchema } from '../audit/audit-record';
import { auditListQuerySchema, auditViewSchema } from '../audit/audit-trail';
import { apiKeyRecordSchema } from '../auth/api-keys';
import { scopeListSchema } from '../auth/scopes';
import { trustPolicyInputSchema, trustPolicySchema } from '../auth/trust-policies';
import { iterationIdSchema, productTypeSchema, sectionNameSchema } from '../engine/catalog';
import { usageSchema } from '../engine/iteration-result';
import type { RouteSpec } from '../http/route';
import {
  apiKeyIdSchema,
  connectionIdSchema,
  deliveryIdSchema,
  idempotencyKeySchema,
  jobIdSchema,
  tenantIdSchema,
  trustPolicyIdSchema,
  uploadIdSchema,
  webhookIdSchema,
} from '../ids';
import {
  conversationPageSchema,
  listMessagesQuerySchema,
  postMessageBodySchema,
} from '../conversations/conversation-service';
import { exportJobQuerySchema, jobExportSchema } from '../exports/job-export';
import { jobViewSchema } from '../jobs/job';
import { adminJobsQuerySchema } from '../jobs/failed-jobs';
import { approvalBodySchema, createJobBodySchema, listJobsQuerySchema } from '../jobs/job-service';
import { planIdSchema, planLimitsSchema, planSchema } from '../plans/plan';
import { monthSchema, tenantUsageReportSchema } from '../usage/usage-reports';
import {
  connectionViewSchema,
  createConnectionBodySchema,
  createdConnectionSchema,
} from '../openwebui/connection';
import { lastEventIdSchema, negotiateResultSchema } from '../progress/progress-service';
import { createUploadBodySchema, uploadTicketSchema, uploadViewSchema } from '../uploads/upload';
import { deliveryViewSchema, webhookViewSchema } from '../webhooks/webhook';
import { createWebhookBodySchema, deliveriesQuerySchema } from '../webhooks/webhook-service';

/**
 * Every HTTP route of the API, as data: function files register them, the OpenAPI document is generated from
 * them, so the published contract and the validation are the same zod schemas.
 */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z
      .string()
      .describe('Stable machine-readable error code, e.g. validation_failed, not_found, quota_exceeded.'),
    instance: z.string(),
    correlationId: z.string(),
  })
  .describe('RFC 9457 problem details.');

const jobIdParams = z.object({ jobId: jobIdSchema });
/** Sending the same key with the same body again answers with the job the first request made. */
const idempotencyHeaders = z.object({ 'idempotency-key': idempotencyKeySchema.optional() });

export const iterationDescriptionSchema = z.object({
  id: iterationIdSchema,
  name: z.string(),
  category: z.string(),
  description: z.string(),
  sections: z.array(sectionNameSchema),
  productTypes: z.array(productTypeSchema),
});

export const jobListSchema = z.object({
  items: z.array(jobViewSchema),
  nextCursor: z
    .string()
    .optional()
    .describe('Pass as `cursor` to get the next page; absent on the last page.'),
});

/** The sync run endpoints (OpenWebUI tools) take one story text: the backlog list is for `createJob`. */
export const runBodySchema = createJobBodySchema.omit({ stories: true }).extend({
  story: z
    .string()
    .min(1, 'story must not be empty')
    .describe('The rough user story (in system mode, several stories in one text).'),
  waitSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .max(200)
    .default(100)
    .describe('How long to wait for the job to finish (max 200).'),
});

export const workflowRunBodySchema = runBodySchema.omit({ mode: true, iterations: true });

export const usageSummarySchema = z.object({
  today: usageSchema.extend({ calls: z.number().int(), day: z.string() }),
  month: usageSchema.extend({ calls: z.number().int(), month: z.string() }),
  tenantMonth: usageSchema
    .extend({ month: z.string() })
    .describe('What the caller’s whole tenant spent this month (UTC).'),
  plan: z.object({ id: z.string(), limits: planLimitsSchema }).describe('The tenant’s plan and its limits.'),
  remaining: z
    .object({
      requestsToday: z.number().int(),
      requestsThisMinute: z.number().int(),
      tokensToday: z.number().int().describe('Tokens left today, after what calls in flight have reserved.'),
      reservedTokens: z.number().int(),
      runningJobs: z.number().int(),
      queuedJobs: z.number().int(),
      budgetMicroUsd: z.number().int().describe('The tenant’s monthly budget left, in micro-dollars.'),
      reservedBudgetMicroUsd: z.number().int(),
      spentBudgetMicroUsd: z
        .number()
        .int()
        .describe(
          'Settled spend this month as the budget counts it; past the budget by at most one call’s worst case.',
        ),
    })
    .optional()
    .describe('Absent when quotas are turned off.'),
});

const tenantIdParams = z.object({ tenantId: tenantIdSchema });
const planIdParams = z.object({ planId: planIdSchema.describe('The plan id, e.g. free, pro.') });
const currentMonth = () => new Date().toISOString().slice(0, 7);

export const changePlanBodySchema = z.object({ planId: planIdSchema.describe('The plan to move to.') });
export const tenantPlanViewSchema = z.object({
  tenantId: z.string(),
  planId: z.string(),
  updatedAt: z.string(),
});
export const exportQuerySchema = z.object({
  month: monthSchema.default(currentMonth).describe('UTC month, YYYY-MM; default: this month.'),
  format: z.enum(['csv', 'jsonl']).default('jsonl').describe('csv (with a header line) or jsonl.'),
});

export const createApiKeyBodySchema = z.object({
  name: z.string().trim().min(1).max(100).describe('A label to recognise the key by.'),
  expiresAt: z.iso
    .datetime({ offset: true })
    .refine((value) => Date.parse(value) > Date.now(), 'must be in the future')
    .optional()
    .describe('When the key stops working (ISO 8601, in the future).'),
  scopes: scopeListSchema
    .optional()
    .describe('What the key may do: jobs:write, jobs:read, usage:read, uploads:write; default all of them.'),
});

export const apiKeyViewSchema = apiKeyRecordSchema.omit({ hash: true });
export const createdApiKeySchema = apiKeyViewSchema.extend({
  key: z.string().describe('The key itself. Shown once: store it now, it cannot be retrieved again.'),
});

const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: 'Error (problem+json).',
        schema: problemSchema,
        contentType: 'application/problem+json',
      },
    ]),
  );

const jobTag = ['Jobs'];

/** The sync run endpoints answer alike: the finished job, or the job still running. */
const runResponses = {
  200: { description: 'Finished.', schema: jobViewSchema },
  202: { description: 'Still running; poll getJob.', schema: jobViewSchema },
  ...errors(400, 401, 413, 415, 422, 429, 503),
};
const adminTag = ['Administration'];
const uploadTag = ['Uploads'];
const webhookTag = ['Webhooks'];
const webhookIdParams = z.object({ webhookId: webhookIdSchema });

export const routes = {
  health: {
    functionName: 'health-get',
    operationId: 'getHealth',
    method: 'GET',
    path: '/health',
    summary: 'Liveness',
    description: 'Answers 200 while the service runs; touches no dependency.',
    tags: ['Operations'],
    auth: 'none',
    responses: { 200: { description: 'Alive.', schema: z.object({ status: z.literal('ok') }) } },
  },
  ready: {
    functionName: 'ready-get',
    operationId: 'getReadiness',
    method: 'GET',
    path: '/ready',
    summary: 'Readiness',
    description: 'Checks Cosmos DB and Storage; 200 when both answer, 503 with per-check detail otherwise.',
    tags: ['Operations'],
    auth: 'none',
    responses: { 200: { description: 'Ready.' }, 503: { description: 'A dependency is down.' } },
  },
  listIterations: {
    functionName: 'iterations-list',
    operationId: 'listIterations',
    method: 'GET',
    path: '/api/v1/iterations',
    summary: 'List the iteration catalog',
    description:
      'The iterations the service can run over a story, in workflow order; filter with productType to get only those that apply.',
    tags: ['Iterations'],
    auth: 'user',
    scope: 'jobs:read',
    query: z.object({
      productType: productTypeSchema.optional().describe('web, mobile-native, mobile-web, desktop or api.'),
    }),
    responses: {
      200: { description: 'The catalog.', schema: z.object({ items: z.array(iterationDescriptionSchema) }) },
      ...errors(400, 401),
    },
  },
  createJob: {
    functionName: 'jobs-create',
    operationId: 'createJob',
    method: 'POST',
    path: '/api/v1/jobs',
    summary: 'Start enhancing a user story or a backlog',
    description:
      'Creates a job that runs iterations over the story in the background and answers 202 at once; follow it with getJob or the stream. With mode system and stories (or one story text holding several), refines each story and links and checks the backlog as a whole (result.system). Send an Idempotency-Key header to make retries safe.',
    tags: jobTag,
    auth: 'user',
    scope: 'jobs:write',
    body: createJobBodySchema,
    headers: idempotencyHeaders,
    durableClient: true,
    responses: {
      202: { description: 'Accepted; the job runs.', schema: jobViewSchema },
      ...errors(400, 401, 413, 415, 422, 429, 503),
    },
  },
  listJobs: {
    functionName: 'jobs-list',
    operationId: 'listJobs',
    method: 'GET',
    path: '/api/v1/jobs',
    summary: 'List my jobs',
    description: 'The caller’s jobs, newest first, a page at a time.',
    tags: jobTag,
    auth: 'user',
    scope: 'jobs:read',
    query: listJobsQuerySchema,
    responses: { 200: { description: 'A page of jobs.', schema: jobListSchema }, ...errors(400, 401) },
  },
  getJob: {
    functionName: 'jobs-get',
    operationId: 'getJob',
    method: 'GET',
    path: '/api/v1/jobs/{jobId}',
    summary: 'Get a job',
    description:
      'One job with its progress, and once finished its enhanced story (result.story, markdown) and per-iteration results.',
    tags: jobTag,
    auth: 'user',
    scope: 'jobs:read',
    params: jobIdParams,
    responses: { 200: { description: 'The job.', schema: jobViewSchema }, ...errors(401, 404) },
  },
  cancelJob: {
    functionName: 'jobs-cancel',
    operationId: 'cancelJob',
    method: 'DELETE',
    path: '/api/v1/jobs/{jobId}',
    summary: 'Cancel a job',
    description:
      'Stops a queued or running job; finished iterations are kept. Cancelling twice is harmless; a finished job answers 409.',
    tags: jobTag,
    auth: 'user',
    scope: 'jobs:write',
    params: jobIdParams,
    durableClient: true,
    responses: {
      202: { description: 'Cancellation requested.', schema: jobViewSchema },
      ...errors(401, 404, 409),
    },
  },
  approveJob: {
    functionName: 'jobs-approve',
    operationId: 'approveJobStep',
    method: 'POST',
    path: '/api/v1/jobs/{jobId}/approval',
    summary: 'Decide on an interactive step',
    description:
      'Interactive mode: continue (apply the iteration awaiting approval and run the next), skip (discard it and run the next) or stop; optionally send an edited story (markdown) to continue from.',
    tags: jobTag,
    auth: 'user',
    scope: 'jobs:write',
    params: jobIdParams,
    body: approvalBodySchema,
    durableClient: true,
    responses: {
      202: { description: 'Decision passed on.', schema: jobViewSchema },
      ...errors(400, 401, 404, 409, 415),
    },
  },
  streamJob: {
    functionName: 'jobs-stream',
    operationId: 'streamJobEvents',
    method: 'GET',
    path: '/api/v1/jobs/{jobId}/stream',
    summary: 'Follow a job’s progress (SSE)',
    description:
      'Server-Sent Events: start, iteration:start/progress/waiting/complete, awaiting_approval, then complete, cancelled or error, after which the stream ends. Each event has a per-job id; reconnect with Last-Event-ID to resume without missing or repeating one. follow=false replays what exists and ends.',
    tags: jobTag,
    auth: 'user',
    scope: 'jobs:read',
    params: jobIdParams,
    query: z.object({
      follow: z
        .enum(['true', 'false'])
        .default('true')
        .describe('false: replay the events logged so far and end, instead of following new ones.'),
    }),
    headers: z.object({ 'last-event-id': lastEventIdSchema.optional() }),
    responses: {
      200: { description: 'An event stream.', schema: z.string(), contentType: 'text/event-stream' },
      ...errors(400, 401, 404),
    },
  },
  exportJob: {
    functionName: 'jobs-export',
    operationId: 'exportJob',
    method: 'GET',
    path: '/api/v1/jobs/{jobId}/export',
    summary: 'Export a completed job',
    description:
      'The finished specification as files for other tools: markdown, Gherkin (.feature: one Feature per story, one Scenario per Given/When/Then outcome criterion, system criteria as comments), Jira (create-issue bodies with the description in Atlassian Document Format, and a CSV for Jira’s importer) or Azure DevOps (JSON Patch documents that create User Story work items). The service writes the files; it calls neither Jira nor Azure DevOps. A job that has not completed answers 409 job_not_completed.',
    tags: jobTag,
    auth: 'user',
    scope: 'jobs:read',
    params: jobIdParams,
    query: exportJobQuerySchema,
    responses: {
      200: { description: 'The files.', schema: jobExportSchema },
      ...errors(400, 401, 404, 409),
    },
  },
  postJobMessage: {
    functionName: 'jobs-messages-create',
    operationId: 'sendJobMessage',
    method: 'POST',
    path: '/api/v1/jobs/{jobId}/messages',
    summary: 'Refine a completed job with a message',
    description:
      'Refinement by conversation: applies the message ("add SEPA", "split the admin part out") to the specification the completed job finished with, as a new job (a turn) run by the same engine, refinement pass then the judge. The new job is linked to this one (conversation.parentJobId, conversation.turn) and answered at once with 202, like createJob; follow it with getJob or its stream. The message is data, like the story: it cannot change the output format or reveal instructions. A turn is a job: audited, admitted under the plan’s quotas and metered. 409 job_not_completed when this job has not completed, 409 turn_in_progress while the conversation’s previous turn runs, 409 conflict for a backlog (system mode: message the job of one of its stories), 413 beyond MAX_MESSAGE_BYTES.',
    tags: jobTag,
    auth: 'user',
    scope: 'jobs:write',
    params: jobIdParams,
    body: postMessageBodySchema,
    durableClient: true,
    responses: {
      202: { description: 'Accepted; the turn’s job runs.', schema: jobViewSchema },
      ...errors(400, 401, 404, 409, 413, 415, 429, 503),
    },
  },
  listJobMessages: {
    functionName: 'jobs-messages-list',
    operationId: 'listJobMessages',
    method: 'GET',
    path: '/api/v1/jobs/{jobId}/messages',
    summary: 'A job’s conversation history',
    description:
      'The messages of the conversation this job belongs to (any of its jobs names it), in the order they were sent, each with the job that applied it: its id, status and what it changed. A page at a time.',
    tags: jobTag,
    auth: 'user',
    scope: 'jobs:read',
    params: jobIdParams,
    query: listMessagesQuerySchema,
    responses: {
      200: { description: 'The turns, oldest first.', schema: conversationPageSchema },
      ...errors(400, 401, 404),
    },
  },
  negotiateJob: {
    functionName: 'jobs-negotiate',
    operationId: 'negotiateJobEvents',
    method: 'POST',
    path: '/api/v1/jobs/{jobId}/negotiate',
    summary: 'Get a Web PubSub connection for a job',
    description:
      'A WebSocket URL (subprotocol json.webpubsub.azure.v1) whose token joins the job’s group and no other; the group receives the same events as the stream, as { seq, event, data }. 503 when Web PubSub is not configured: use the stream.',
    tags: jobTag,
    auth: 'user',
    scope: 'jobs:read',
    params: jobIdParams,
    responses: {
      200: { description: 'Where to connect.', schema: negotiateResultSchema },
      ...errors(401, 404, 503),
    },
  },
  runIterations: {
    functionName: 'iterations-run',
    operationId: 'runIterations',
    method: 'POST',
    path: '/api/v1/iterations/run',
    summary: 'Run chosen iterations and wait',
    description:
      'Runs the chosen iterations over the story and waits up to waitSeconds: 200 with the finished job (result.story holds the enhanced story), or 202 with the job and its links if it is still running.',
    tags: ['Iterations'],
    auth: 'user',
    scope: 'jobs:write',
    body: runBodySchema,
    headers: idempotencyHeaders,
    durableClient: true,
    responses: runResponses,
  },
  runWorkflow: {
    functionName: 'workflow-run',
    operationId: 'runWorkflow',
    method: 'POST',
    path: '/api/v1/workflow/run',
    summary: 'Run the full workflow and wait',
    description:
      'Runs every iteration that applies to productType (as many as the plan allows) and waits up to waitSeconds: 200 with the finished job (result.story holds the enhanced story), or 202 with the job if still running.',
    tags: ['Iterations'],
    auth: 'user',
    scope: 'jobs:write',
    body: workflowRunBodySchema,
    headers: idempotencyHeaders,
    durableClient: true,
    responses: runResponses,
  },
  createUpload: {
    functionName: 'uploads-create',
    operationId: 'createUpload',
    method: 'POST',
    path: '/api/v1/uploads',
    summary: 'Get a URL to upload a mockup',
    description:
      'Declare a mockup (PNG, JPEG, PDF or SVG, at most 10 MB or the plan’s lower limit) and get a short-lived URL for one PUT of exactly that file. The file is then checked from its bytes; follow getUpload until it is ready or rejected, and pass ready upload ids in a job’s uploads.',
    tags: uploadTag,
    auth: 'user',
    scope: 'uploads:write',
    body: createUploadBodySchema,
    responses: {
      201: { description: 'Upload URL issued; the upload is pending.', schema: uploadTicketSchema },
      ...errors(400, 401, 413, 415, 503),
    },
  },
  getUpload: {
    functionName: 'uploads-get',
    operationId: 'getUpload',
    method: 'GET',
    path: '/api/v1/uploads/{uploadId}',
    summary: 'Get an upload’s status',
    description:
      'pending until the file arrives and is checked, then ready (with pages or width and height) or rejected with a reason code and detail.',
    tags: uploadTag,
    auth: 'user',
    // Following an upload until it is ready is part of uploading: a key that may upload may watch its uploads.
    scope: 'uploads:write',
    params: z.object({
      uploadId: uploadIdSchema,
    }),
    responses: { 200: { description: 'The upload.', schema: uploadViewSchema }, ...errors(401, 404) },
  },
  getUsage: {
    functionName: 'usage-get',
    operationId: 'getMyUsage',
    method: 'GET',
    path: '/api/v1/usage',
    summary: 'My usage',
    description:
      'Tokens and cost of the caller’s LLM calls today and this month (UTC), the tenant’s spend this month, the plan’s limits and what remains of them.',
    tags: ['Usage'],
    auth: 'user',
    scope: 'usage:read',
    responses: { 200: { description: 'Usage.', schema: usageSummarySchema }, ...errors(401) },
  },
  listPlans: {
    functionName: 'plans-list',
    operationId: 'listPlans',
    method: 'GET',
    path: '/api/v1/admin/plans',
    summary: 'List plans',
    description: 'Every plan with its limits. Needs platform_admin.',
    tags: adminTag,
    auth: 'admin',
    responses: {
      200: { description: 'The plans.', schema: z.object({ items: z.array(planSchema) }) },
      ...errors(401, 403),
    },
  },
  createPlan: {
    functionName: 'plans-create',
    operationId: 'createPlan',
    method: 'POST',
    path: '/api/v1/admin/plans',
    summary: 'Create a plan',
    description: 'Adds a plan that tenants can then be moved to; 409 if the id exists. Needs platform_admin.',
    tags: adminTag,
    auth: 'admin',
    body: planSchema,
    responses: {
      201: { description: 'Created.', schema: planSchema },
      ...errors(400, 401, 403, 409, 415),
    },
  },
  getPlan: {
    functionName: 'plans-get',
    operationId: 'getPlan',
    method: 'GET',
    path: '/api/v1/admin/plans/{planId}',
    summary: 'Get a plan',
    description: 'One plan with its limits. Needs platform_admin.',
    tags: adminTag,
    auth: 'admin',
    params: planIdParams,
    responses: { 200: { description: 'The plan.', schema: planSchema }, ...errors(400, 401, 403, 404) },
  },
  updatePlan: {
    functionName: 'plans-update',
    operationId: 'updatePlan',
    method: 'PATCH',
    path: '/api/v1/admin/plans/{planId}',
    summary: 'Edit a plan',
    description:
      'Changes a plan’s name and any of its limits (the others stay). Tenants on the plan get the new limits for new jobs; jobs already admitted keep theirs. Needs platform_admin.',
    tags: adminTag,
    auth: 'admin',
    params: planIdParams,
    body: planPatchSchema,
    responses: {
      200: { description: 'The plan as it now is.', schema: planSchema },
      ...errors(400, 401, 403, 404, 415),
    },
  },
  retirePlan: {
    functionName: 'plans-retire',
    operationId: 'retirePlan',
    method: 'DELETE',
    path: '/api/v1/admin/plans/{planId}',
    summary: 'Retire a plan',
    description:
      'Deletes a plan that no tenant uses; 409 while a tenant is on it (move them first) and for the default plan. Needs platform_admin.',
    tags: adminTag,
    auth: 'admin',
    params: planIdParams,
    responses: { 204: { description: 'Retired.' }, ...errors(401, 403, 404, 409) },
  },
  changeTenantPlan: {
    functionName: 'tenants-plan-update',
    operationId: 'changeTenantPlan',
    method: 'PATCH',
    path: '/api/v1/admin/tenants/{tenantId}/plan',
    summary: 'Change a tenant’s plan',
    description:
      'Moves the tenant to another plan; new jobs are admitted under its limits, jobs already admitted keep theirs. Needs platform_admin, or tenant_admin of that tenant.',
    tags: adminTag,
    auth: 'admin',
    params: tenantIdParams,
    body: changePlanBodySchema,
    responses: {
      200: { description: 'The tenant’s new plan.', schema: tenantPlanViewSchema },
      ...errors(400, 401, 403, 404, 415),
    },
  },
  getTenantUsage: {
    functionName: 'tenants-usage-get',
    operationId: 'getTenantUsage',
    method: 'GET',
    path: '/api/v1/admin/tenants/{tenantId}/usage',
    summary: 'A tenant’s usage for a month',
    description:
      'Tokens and cost of the tenant’s LLM calls in a UTC month, in total, by user and by day. Needs platform_admin, or tenant_admin of that tenant.',
    tags: adminTag,
    auth: 'admin',
    params: tenantIdParams,
    query: z.object({
      month: monthSchema.default(currentMonth).describe('UTC month, YYYY-MM; default: this month.'),
    }),
    responses: {
      200: { description: 'The report.', schema: tenantUsageReportSchema },
      ...errors(400, 401, 403),
    },
  },
  exportUsage: {
    functionName: 'usage-export',
    operationId: 'exportUsage',
    method: 'GET',
    path: '/api/v1/admin/usage/export',
    summary: 'Export every usage record of a month',
    description:
      'Streams one line per LLM call of every tenant in a UTC month (cost in integer micro-dollars), as CSV or JSON Lines. Needs platform_admin.',
    tags: adminTag,
    auth: 'admin',
    query: exportQuerySchema,
    responses: {
      200: { description: 'The records (text/csv or application/x-ndjson).', contentType: 'text/csv' },
      ...errors(400, 401, 403),
    },
  },
  createOpenWebUiConnection: {
    functionName: 'openwebui-connections-create',
    operationId: 'createOpenWebUiConnection',
    method: 'POST',
    path: '/api/v1/admin/tenants/{tenantId}/openwebui',
    summary: 'Connect an OpenWebUI instance',
    description:
      'Registers an OpenWebUI instance for the tenant and returns its key (shown once) for OpenWebUI’s tool-server connection. Calls with the key and a valid X-OpenWebUI-User-Jwt act as that chat user; with baseUrl and apiKey, sync runs post their progress into the chat. Secrets are stored encrypted and never returned. Needs platform_admin, or tenant_admin of that tenant.',
    tags: adminTag,
    auth: 'admin',
    params: tenantIdParams,
    body: createConnectionBodySchema,
    responses: {
      201: { description: 'Connected; the key is in apiKey.', schema: createdConnectionSchema },
      ...errors(400, 401, 403, 415, 503),
    },
  },
  listOpenWebUiConnections: {
    functionName: 'openwebui-connections-list',
    operationId: 'listOpenWebUiConnections',
    method: 'GET',
    path: '/api/v1/admin/tenants/{tenantId}/openwebui',
    summary: 'List a tenant’s OpenWebUI connections',
    description:
      'The tenant’s OpenWebUI connections, newest first, without their secrets. Needs platform_admin, or tenant_admin of that tenant.',
    tags: adminTag,
    auth: 'admin',
    params: tenantIdParams,
    responses: {
      200: { description: 'The connections.', schema: z.object({ items: z.array(connectionViewSchema) }) },
      ...errors(401, 403),
    },
  },
  deleteOpenWebUiConnection: {
    functionName: 'openwebui-connections-delete',
    operationId: 'deleteOpenWebUiConnection',
    method: 'DELETE',
    path: '/api/v1/admin/tenants/{tenantId}/openwebui/{connectionId}',
    summary: 'Disconnect an OpenWebUI instance',
    description:
      'Revokes the connection’s key at once and deletes its secrets; its chat users’ jobs stay. Needs platform_admin, or tenant_admin of that tenant.',
    tags: adminTag,
    auth: 'admin',
    params: tenantIdParams.extend({ connectionId: connectionIdSchema }),
    responses: { 204: { description: 'Disconnected.' }, ...errors(400, 401, 403, 404) },
  },
  createTrustPolicy: {
    functionName: 'trust-policies-create',
    operationId: 'createTrustPolicy',
    method: 'POST',
    path: '/api/v1/admin/trust-policies',
    summary: 'Trust CI workload tokens',
    description:
      'Lets OIDC tokens of CI workloads (GitHub Actions by default) call the API without a stored key: a token from the issuer, for the audience, whose repository, repository_owner, ref and environment match the patterns, acts as github:<repository> in the tenant with the scopes given. Needs platform_admin.',
    tags: adminTag,
    auth: 'admin',
    body: trustPolicyInputSchema,
    responses: {
      201: { description: 'The policy.', schema: trustPolicySchema },
      ...errors(400, 401, 403, 415),
    },
  },
  listTrustPolicies: {
    functionName: 'trust-policies-list',
    operationId: 'listTrustPolicies',
    method: 'GET',
    path: '/api/v1/admin/trust-policies',
    summary: 'List CI trust policies',
    description: 'Every CI trust policy, oldest first. Needs platform_admin.',
    tags: adminTag,
    auth: 'admin',
    responses: {
      200: { description: 'The policies.', schema: z.object({ items: z.array(trustPolicySchema) }) },
      ...errors(401, 403),
    },
  },
  deleteTrustPolicy: {
    functionName: 'trust-policies-delete',
    operationId: 'deleteTrustPolicy',
    method: 'DELETE',
    path: '/api/v1/admin/trust-policies/{policyId}',
    summary: 'Delete a CI trust policy',
    description:
      'Stops trusting the tokens the policy admitted (on every instance within 30 seconds). Needs platform_admin.',
    tags: adminTag,
    auth: 'admin',
    params: z.object({ policyId: trustPolicyIdSchema }),
    responses: { 204: { description: 'Deleted.' }, ...errors(400, 401, 403, 404) },
  },
  createApiKey: {
    functionName: 'api-keys-create',
    operationId: 'createApiKey',
    method: 'POST',
    path: '/api/v1/api-keys',
    summary: 'Create an API key',
    description:
      'Creates a key for CI and scripts, acting as the signed-in user with the scopes asked for (default: all user scopes). The key is shown once. Needs a bearer token, not another API key.',
    tags: ['API keys'],
    auth: 'jwt',
    body: createApiKeyBodySchema,
    responses: {
      201: { description: 'Created.', schema: createdApiKeySchema },
      ...errors(400, 401, 403, 415),
    },
  },
  listApiKeys: {
    functionName: 'api-keys-list',
    operationId: 'listApiKeys',
    method: 'GET',
    path: '/api/v1/api-keys',
    summary: 'List my API keys',
    description: 'The caller’s keys (never the key itself), revoked ones included.',
    tags: ['API keys'],
    auth: 'jwt',
    responses: {
      200: { description: 'Keys.', schema: z.object({ items: z.array(apiKeyViewSchema) }) },
      ...errors(401, 403),
    },
  },
  revokeApiKey: {
    functionName: 'api-keys-revoke',
    operationId: 'revokeApiKey',
    method: 'DELETE',
    path: '/api/v1/api-keys/{keyId}',
    summary: 'Revoke an API key',
    description: 'The key stops working at once. Revoking twice is harmless.',
    tags: ['API keys'],
    auth: 'jwt',
    params: z.object({ keyId: apiKeyIdSchema }),
    responses: { 200: { description: 'Revoked.', schema: apiKeyViewSchema }, ...errors(401, 403, 404) },
  },
  listAudit: {
    functionName: 'audit-list',
    operationId: 'listAuditRecords',
    method: 'GET',
    path: '/api/v1/admin/audit',
    summary: 'A tenant’s audit trail',
    description:
      'Security-relevant actions (API keys, plans, jobs, webhooks, admin reads, refused requests), newest first: actor, action, target, time, correlation id, source address, and the hash chain fields. Tenant admins see their tenants (default: their own); platform admins give tenantId (_platform: the platform’s own trail).',
    tags: adminTag,
    auth: 'admin',
    query: auditListQuerySchema,
    responses: {
      200: {
        description: 'A page of records.',
        schema: z.object({
          items: z.array(auditViewSchema),
          nextCursor: z.string().optional().describe('Pass as cursor for the next page.'),
        }),
      },
      ...errors(400, 401, 403),
    },
  },
  verifyAudit: {
    functionName: 'audit-verify',
    operationId: 'verifyAuditTrail',
    method: 'GET',
    path: '/api/v1/admin/audit/verify',
    summary: 'Verify a tenant’s audit trail',
    description:
      'Recomputes the tenant’s hash chain from its first record: valid, or the first sequence number that was deleted, edited or re-chained. Keep headHash outside the service to detect a wholesale rewrite later.',
    tags: adminTag,
    auth: 'admin',
    query: z.object({ tenantId: auditListQuerySchema.shape.tenantId }),
    responses: {
      200: { description: 'The result.', schema: verifyResultSchema },
      ...errors(400, 401, 403),
    },
  },
  retryJob: {
    functionName: 'jobs-retry',
    operationId: 'retryJob',
    method: 'POST',
    path: '/api/v1/jobs/{jobId}/retry',
    summary: 'Retry a failed job',
    description:
      'Starts a new job with the failed job’s input (story, product type, mode, iterations, options) under the plan in force now; the two are linked (retryOf on the new job, retriedBy on the old). Retrying the same failed job again answers the same new job; a job that did not fail answers 409.',
    tags: jobTag,
    auth: 'user',
    scope: 'jobs:write',
    params: jobIdParams,
    durableClient: true,
    responses: {
      202: { description: 'The new job; it runs.', schema: jobViewSchema },
      ...errors(401, 404, 409, 429, 503),
    },
  },
  listTenantJobs: {
    functionName: 'admin-jobs-list',
    operationId: 'listTenantJobs',
    method: 'GET',
    path: '/api/v1/admin/jobs',
    summary: 'A tenant’s jobs (dead-letter list)',
    description:
      'Every user’s jobs in a tenant, newest first, with their last error; status=failed is the dead-letter list, reason filters on the error code. Tenant admins see their tenants (default: their own); platform admins give tenantId.',
    tags: adminTag,
    auth: 'admin',
    query: adminJobsQuerySchema,
    responses: { 200: { description: 'A page of jobs.', schema: jobListSchema }, ...errors(400, 401, 403) },
  },
  listAlerts: {
    functionName: 'alerts-list',
    operationId: 'listUsageAlerts',
    method: 'GET',
    path: '/api/v1/admin/alerts',
    summary: 'Usage anomaly alerts',
    description:
      'Hours in which a tenant’s LLM calls, tokens or cost were far above the same hour on the 14 days before (median plus 6 spreads of the median absolute deviation, with floors), newest hour first; found by an hourly scan at minute 5 (UTC). Tenant admins see their tenants (default: their own); platform admins see every tenant’s unless they give tenantId.',
    tags: adminTag,
    auth: 'admin',
    query: alertsQuerySchema,
    responses: {
      200: {
        description: 'A page of alerts.',
        schema: z.object({
          items: z.array(usageAlertViewSchema),
          nextCursor: z.string().optional().describe('Pass as cursor for the next page.'),
        }),
      },
      ...errors(400, 401, 403),
    },
  },
  scanUsageAnomalies: {
    functionName: 'alerts-scan-hour',
    operationId: 'scanUsageAnomalies',
    method: 'POST',
    path: '/api/v1/admin/alerts/scan',
    summary: 'Scan an hour for usage anomalies',
    description:
      'Runs the hourly anomaly scan for an hour that has ended, e.g. one the timer missed during an outage. Anomalies already raised are listed, not raised again. Needs platform_admin.',
    tags: adminTag,
    auth: 'admin',
    body: scanBodySchema,
    durableClient: true,
    responses: {
      200: { description: 'What the scan found.', schema: scanResultSchema },
      ...errors(400, 401, 403, 415, 503),
    },
  },
  createWebhook: {
    functionName: 'webhooks-create',
    operationId: 'createWebhook',
    method: 'POST',
    path: '/api/v1/webhooks',
    summary: 'Create a webhook',
    description:
      'Registers a URL to be told of events, signed after the Standard Webhooks specification (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">). The signing secret (whsec_...) is shown once. Job events go to your own jobs’ endpoints; budget.threshold and usage.anomaly need tenant_admin.',
    tags: webhookTag,
    auth: 'user',
    scope: 'jobs:write',
    body: createWebhookBodySchema,
    responses: {
      201: {
        description: 'Created.',
        schema: webhookViewSchema.extend({
          secret: z.string().describe('whsec_...: verify signatures with it. Shown once.'),
        }),
      },
      ...errors(400, 401, 403, 415),
    },
  },
  listWebhooks: {
    functionName: 'webhooks-list',
    operationId: 'listWebhooks',
    method: 'GET',
    path: '/api/v1/webhooks',
    summary: 'List my webhooks',
    description: 'Your webhook endpoints (never their secrets).',
    tags: webhookTag,
    auth: 'user',
    scope: 'jobs:read',
    responses: {
      200: { description: 'Endpoints.', schema: z.object({ items: z.array(webhookViewSchema) }) },
      ...errors(401),
    },
  },
  deleteWebhook: {
    functionName: 'webhooks-delete',
    operationId: 'deleteWebhook',
    method: 'DELETE',
    path: '/api/v1/webhooks/{webhookId}',
    summary: 'Delete a webhook',
    description: 'Stops all deliveries to the endpoint; pending ones end dead.',
    tags: webhookTag,
    auth: 'user',
    scope: 'jobs:write',
    params: webhookIdParams,
    responses: { 204: { description: 'Deleted.' }, ...errors(401, 404) },
  },
  listWebhookDeliveries: {
    functionName: 'webhooks-deliveries-list',
    operationId: 'listWebhookDeliveries',
    method: 'GET',
    path: '/api/v1/webhooks/{webhookId}/deliveries',
    summary: 'A webhook’s deliveries',
    description:
      'Deliveries newest first with every attempt (time, status code or error); status pending, delivered or dead (every attempt failed).',
    tags: webhookTag,
    auth: 'user',
    scope: 'jobs:read',
    params: webhookIdParams,
    query: deliveriesQuerySchema,
    responses: {
      200: {
        description: 'A page of deliveries.',
        schema: z.object({ items: z.array(deliveryViewSchema), nextCursor: z.string().optional() }),
      },
      ...errors(400, 401, 404),
    },
  },
  redeliverWebhook: {
    functionName: 'webhooks-redeliver',
    operationId: 'redeliverWebhook',
    method: 'POST',
    path: '/api/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver',
    summary: 'Deliver again',
    description:
      'Starts a new run of attempts for a delivered or dead delivery, with the same webhook-id and body (receivers deduplicate on webhook-id). 409 while it is still pending.',
    tags: webhookTag,
    auth: 'user',
    scope: 'jobs:write',
    params: webhookIdParams.extend({ deliveryId: deliveryIdSchema }),
    durableClient: true,
    responses: {
      202: { description: 'Delivering.', schema: deliveryViewSchema },
      ...errors(401, 404, 409, 503),
    },
  },
  testWebhook: {
    functionName: 'webhooks-test',
    operationId: 'testWebhook',
    method: 'POST',
    path: '/api/v1/webhooks/{webhookId}/test',
    summary: 'Send a test event',
    description: 'Delivers a webhook.test event to the endpoint, signed and retried like any other.',
    tags: webhookTag,
    auth: 'user',
    scope: 'jobs:write',
    params: webhookIdParams,
    durableClient: true,
    responses: {
      202: { description: 'Delivering.', schema: deliveryViewSchema },
      ...errors(401, 404, 503),
    },
  },
} satisfies Record<string, RouteSpec>;
