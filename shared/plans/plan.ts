import { z } from 'zod';

/** A plan's limits, as in the API contract ("Plans and quotas"). */
export const planLimitsSchema = z.object({
  requestsPerDay: z.number().int().positive(),
  tokensPerDay: z.number().int().positive(),
  maxStoryBytes: z.number().int().positive(),
  maxIterations: z.number().int().min(1).max(12),
  maxConcurrentJobs: z.number().int().positive(),
  maxQueuedJobs: z.number().int().nonnegative(),
  requestsPerMinute: z.number().int().positive(),
  monthlyBudgetUsd: z.number().nonnegative(),
  /** Largest mockup upload in bytes; absent: the contract's 10 MB, which a plan may lower but not raise. */
  maxUploadBytes: z
    .number()
    .int()
    .positive()
    .max(10 * 1024 * 1024)
    .optional(),
  /** Days an upload is kept before the retention timer deletes it; absent: 30. */
  uploadRetentionDays: z.number().int().min(1).max(3650).optional(),
  /**
   * SSE streams and Web PubSub tokens one user may hold at once. Plans stored before this limit existed get
   * the default.
   */
  maxConcurrentStreams: z.number().int().positive().default(20),
});
export type PlanLimits = z.infer<typeof planLimitsSchema>;

export const planIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,39}$/, 'lowercase letters, digits and dashes');

export const planSchema = z.object({
  id: planIdSchema,
  name: z.string().min(1).max(80),
  limits: planLimitsSchema,
});
export type Plan = z.infer<typeof planSchema>;

/** The plans every deployment starts with; admins may create more and change these. */
export const defaultPlans: readonly Plan[] = [
  {
    id: 'free',
    name: 'Free',
    limits: {
      requestsPerDay: 50,
      tokensPerDay: 100_000,
      maxStoryBytes: 10 * 1024,
      maxIterations: 3,
      maxConcurrentJobs: 1,
      maxQueuedJobs: 3,
      requestsPerMinute: 10,
      monthlyBudgetUsd: 10,
      maxConcurrentStreams: 5,
    },
  },
  {
    id: 'pro',
    name: 'Pro',
    limits: {
      requestsPerDay: 500,
      tokensPerDay: 1_000_000,
      maxStoryBytes: 30 * 1024,
      maxIterations: 6,
      maxConcurrentJobs: 3,
      maxQueuedJobs: 10,
      requestsPerMinute: 60,
      monthlyBudgetUsd: 200,
      maxConcurrentStreams: 20,
    },
  },
  {
    id: 'enterprise',
    name: 'Enterprise',
    limits: {
      requestsPerDay: 5_000,
      tokensPerDay: 10_000_000,
      maxStoryBytes: 50 * 1024,
      maxIterations: 12,
      maxConcurrentJobs: 10,
      maxQueuedJobs: 50,
      requestsPerMinute: 300,
      monthlyBudgetUsd: 5_000,
      maxConcurrentStreams: 100,
    },
  },
];
