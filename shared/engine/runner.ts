import { AppError } from '../errors';
import { applicableIterations, catalogIndex, type IterationId, type ProductType } from './catalog';
import { sumUsage, type IterationResult, type PassResult, type Usage } from './iteration-result';
import type { MockupFile, MockupInventory, MockupResult, MockupSource } from './mockup-inventory';
import { throwIfCancelled, type CallOptions } from './passes';
import { memoryCacheGate, StepExecutor, type WorkflowEvent, type WorkflowStore } from './step-executor';
import type { Story } from './story';
import {
  workflowSteps,
  type ApprovalDecision,
  type IterationOutcome,
  type StepResult,
  type WorkflowOutcome,
  type WorkflowPlan,
  type WorkflowStep,
} from './workflow';
import { workflowReport, type WorkflowReport } from './workflow-report';

/** One run of the workflow in this process: the command line's engine. */
export interface RunWorkflowInput extends Omit<CallOptions, 'mockups'> {
  story: Story;
  /** Mockup files, already checked, read into inventories before the iterations (ids must be unique). */
  mockups?: readonly MockupFile[];
  /** Defaults to every iteration applicable to the story's product type. Run and merged in catalog order. */
  iterations?: readonly IterationId[];
  /**
   * `parallel`: every iteration on the submitted story, merged in catalog order (workflow and individual
   * modes). `sequential`: each iteration on the story approved so far (interactive mode).
   */
  strategy?: 'parallel' | 'sequential';
  /** Judge each iteration and retry it once when it fails (per-iteration verification). */
  verify?: boolean;
  /**
   * A conversation turn: instead of the iterations, this instruction is applied to `story` (a finished
   * specification) by the refinement pass, which the judge then reviews.
   */
  instruction?: string;
  /** Consolidation and the whole-story judge after the iterations (default true). */
  review?: boolean;
  /** Rewrite rounds the judge may ask for (default 1). */
  rewriteRounds?: number;
  /** Parallel iteration calls in flight at once; default: all. */
  concurrency?: number;
  /** Parallel only (default true): per model, one call warms the cached prompt prefix before the others start. */
  warmCache?: boolean;
  onEvent?: (event: WorkflowEvent) => void;
  /** Sequential only: asked after each iteration, before its changes are applied (default: continue). */
  approve?: (step: {
    result: IterationResult;
    story: Story;
    index: number;
    total: number;
  }) => Promise<ApprovalDecision>;
}

/** What a run delivers: how it ended, the report, what its mockups show and the usage of every call. */
export interface WorkflowResult extends WorkflowReport {
  outcome: 'completed' | 'failed';
  /** Why a failed run stopped (the first failed mockup or iteration). */
  error?: WorkflowOutcome['error'];
  mockups: MockupInventory[];
  usage: Usage;
}

/** Catalog order, duplicates removed; the default is every iteration applicable to the product type. */
export function planIterations(productType: ProductType, iterations?: readonly IterationId[]): IterationId[] {
  const chosen = iterations ?? applicableIterations(productType).map((definition) => definition.id);
  return [...new Set(chosen)].sort((a, b) => catalogIndex(a) - catalogIndex(b));
}

/** A run's state in memory. */
export function memoryWorkflowStore(original: Story): WorkflowStore {
  let working: Story | undefined;
  const iterations = new Map<IterationId, IterationResult>();
  const passes: PassResult[] = [];
  const mockups = new Map<string, MockupResult>();
  return {
    original: () => original,
    working: () => Promise.resolve(working),
    saveWorking: (story) => {
      working = story;
      return Promise.resolve();
    },
    iterationResults: () =>
      Promise.resolve([...iterations.values()].sort((a, b) => catalogIndex(a.id) - catalogIndex(b.id))),
    saveIterationResult: (result) => {
      iterations.set(result.id, result);
      return Promise.resolve();
    },
    passResults: () => Promise.resolve([...passes]),
    savePass: (result, story) => {
      passes.push(result);
      if (story) working = story;
      return Promise.resolve();
    },
    mockupResults: () => Promise.resolve([...mockups.values()]),
    saveMockupResult: (result) => {
      mockups.set(result.inventory.uploadId, result);
      return Promise.resolve();
    },
  };
}

/** Mockup files held in memory, by id. */
function memoryMockupSource(files: readonly MockupFile[]): MockupSource {
  const byId = new Map(files.map((file) => [file.id, file]));
  if (byId.size !== files.length) throw new AppError('validation_failed', 'Two mockups have the same id.');
  return { read: (id) => Promise.resolve(byId.get(id)) };
}

/** Runs `work` over `items` with at most `width` in flight, keeping the results in the items' order. */
async function inParallel<T, R>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index];
      if (item !== undefined) results[index] = await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(items.length, width)) }, worker));
  return results;
}

/**
 * Runs the workflow in this process: the same steps (`workflowSteps`) and the same step executor as a job's
 * durable orchestration, with the state in memory. A mockup that cannot be read, or a failed iteration, ends
 * the run (`outcome: 'failed'`) with the other results merged; cancellation rejects with `AppError('cancelled')`.
 */
export async function runWorkflow(input: RunWorkflowInput): Promise<WorkflowResult> {
  const strategy = input.strategy ?? 'parallel';
  const plan: WorkflowPlan = {
    strategy,
    iterations:
      input.instruction === undefined ? planIterations(input.story.productType, input.iterations) : [],
    ...(input.instruction === undefined ? {} : { refinement: true }),
    ...(input.mockups?.length ? { mockups: input.mockups.map((file) => file.id) } : {}),
    ...(input.review === false ? {} : { review: { rewriteRounds: input.rewriteRounds ?? 1 } }),
  };
  const store = memoryWorkflowStore(input.story);
  const { mockups, ...options } = input;
  const executor = new StepExecutor(store, {
    ...options,
    iterations: plan.iterations,
    ...(strategy === 'parallel' && input.warmCache !== false ? { cache: memoryCacheGate() } : {}),
    mockupSource: memoryMockupSource(mockups ?? []),
  });

  const execute = async (step: WorkflowStep): Promise<StepResult> => {
    switch (step.kind) {
      case 'mockups':
        return {
          kind: 'mockups',
          outcomes: await Promise.all(step.mockups.map((id) => executor.analyzeMockup(id))),
        };
      case 'iterations': {
        const outcomes: IterationOutcome[] = await inParallel(
          step.iterations,
          input.concurrency ?? step.iterations.length,
          (iterationId) => executor.runIteration(iterationId, step.base),
        );
        return { kind: 'iterations', outcomes };
      }
      case 'approval': {
        const { result, story } = await executor.preview(step.iteration);
        const decision =
          result && input.approve
            ? await input.approve({
                result,
                story,
                index: plan.iterations.indexOf(step.iteration),
                total: plan.iterations.length,
              })
            : 'continue';
        throwIfCancelled(input.signal);
        await executor.applyApproval(step.iteration, decision);
        return { kind: 'approval', decision };
      }
      case 'merge':
        await executor.merge();
        return { kind: 'merge' };
      case 'consolidation':
        return { kind: 'consolidation', ...(await executor.consolidate(step.judgeRewriteRounds)) };
      case 'review':
        return { kind: 'review', ...(await executor.review(step.round, step.rewriteRoundsLeft)) };
      case 'rewrite':
        return { kind: 'rewrite', ...(await executor.rewrite(step.round)) };
      case 'refinement':
        return { kind: 'refinement', ...(await executor.refine(input.instruction ?? '')) };
    }
  };

  const workflow = workflowSteps(plan);
  let next = workflow.next();
  while (!next.done) next = workflow.next(await execute(next.value));
  const { outcome, error } = next.value;
  if (outcome === 'cancelled') throw new AppError('cancelled', 'The run was cancelled.');

  const report = await workflowReport(store, strategy, input.backlogContext?.context.vocabulary);
  const read = await store.mockupResults();
  return {
    ...report,
    outcome,
    ...(error ? { error } : {}),
    mockups: read.map((result) => result.inventory),
    usage: sumUsage([...read, ...report.iterations, ...report.passes]),
  };
}
