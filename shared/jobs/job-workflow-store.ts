import type { IterationResult, PassResult } from '../engine/iteration-result';
import type { MockupResult } from '../engine/mockup-inventory';
import type { WorkflowStore } from '../engine/step-executor';
import { parseStory, storySchema, type Story } from '../engine/story';
import { AppError } from '../errors';
import type { MockupInventoryRepository } from '../mockups/inventory-repository';
import type { JobDocument } from './job';
import type { JobRepository } from './job-repository';

/**
 * A job's workflow state in Cosmos, for the step executor: the submitted story on the job, each mockup's
 * inventory and each iteration's result in its own document (parallel steps never contend for the job's
 * ETag), and the working story with the pass results on the job, written together so a pass and its effect
 * are one checkpoint.
 */
export class JobWorkflowStore implements WorkflowStore {
  private readonly submitted: Story;
  private workingStory: Story | undefined;
  private passes: PassResult[];

  constructor(
    private readonly jobs: JobRepository,
    private readonly job: JobDocument,
    private readonly inventories: Pick<MockupInventoryRepository, 'forJob' | 'save'>,
  ) {
    this.submitted = parseStory(job.story, { productType: job.productType });
    this.workingStory = job.workingStory === undefined ? undefined : storySchema.parse(job.workingStory);
    this.passes = job.passResults ?? [];
  }

  original(): Story {
    return this.submitted;
  }

  working(): Promise<Story | undefined> {
    return Promise.resolve(this.workingStory);
  }

  async saveWorking(story: Story): Promise<void> {
    await this.write((job) => ({ ...job, workingStory: story }));
    this.workingStory = story;
  }

  iterationResults(): Promise<IterationResult[]> {
    return this.jobs.iterationResults(this.job.tenantId, this.job.id);
  }

  saveIterationResult(result: IterationResult): Promise<void> {
    return this.jobs.saveIterationResult(this.job.tenantId, this.job.id, result);
  }

  passResults(): Promise<PassResult[]> {
    return Promise.resolve([...this.passes]);
  }

  async savePass(result: PassResult, story?: Story): Promise<void> {
    const saved = await this.write((job) => {
      const others = (job.passResults ?? []).filter(
        (pass) => pass.id !== result.id || pass.round !== result.round,
      );
      return { ...job, passResults: [...others, result], ...(story ? { workingStory: story } : {}) };
    });
    this.passes = saved.passResults ?? [];
    if (story) this.workingStory = story;
  }

  mockupResults(): Promise<MockupResult[]> {
    if (this.job.uploads.length === 0) return Promise.resolve([]);
    return this.inventories.forJob(this.job.tenantId, this.job.id);
  }

  saveMockupResult(result: MockupResult): Promise<void> {
    return this.inventories.save(this.job.tenantId, this.job.id, result);
  }

  private async write(change: (job: JobDocument) => JobDocument): Promise<JobDocument> {
    const saved = await this.jobs.update(this.job.tenantId, this.job.id, change);
    if (!saved) throw new AppError('not_found', `Job ${this.job.id} was not found.`);
    return saved;
  }
}
