import { describe, expect, it } from 'vitest';
import { workflowStepRunInputSchema } from './orchestration-contract';

describe('workflow step activity input', () => {
  const ref = { tenantId: 'acme', jobId: 'job-1' };

  it("carries the judge's rewrite rounds to consolidation, and still reads a step scheduled before it did", () => {
    expect(
      workflowStepRunInputSchema.parse({ ...ref, step: { kind: 'consolidation', judgeRewriteRounds: 1 } })
        .step,
    ).toEqual({ kind: 'consolidation', judgeRewriteRounds: 1 });
    expect(workflowStepRunInputSchema.parse({ ...ref, step: { kind: 'consolidation' } }).step).toEqual({
      kind: 'consolidation',
    });
    expect(
      workflowStepRunInputSchema.safeParse({
        ...ref,
        step: { kind: 'consolidation', judgeRewriteRounds: -1 },
      }).success,
    ).toBe(false);
  });
});
