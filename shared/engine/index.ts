/**
 * The story engine's public surface: what activities, orchestrators, HTTP functions and the CLI call.
 * Nothing here depends on Azure.
 */
export {
  applicableIterations,
  catalogIndex,
  getIteration,
  iterationCatalog,
  iterationIdSchema,
  iterationIds,
  productTypeSchema,
  productTypes,
  sectionNames,
  type IterationDefinition,
  type IterationId,
  type ProductType,
  type SectionName,
} from './catalog';
export {
  iterationResultSchema,
  llmCallSchema,
  passResultSchema,
  type LlmCall,
  sumUsage,
  usageSchema,
  verificationSchema,
  type IterationResult,
  type PassResult,
  type Usage,
  type Verification,
} from './iteration-result';
export { applyResult, mergeIterationResults, type MergeOutcome } from './merge';
export { createOfflineAdapter, offlineModel, type OfflineAdapterOptions } from './offline/offline-adapter';
export { validatePatches, type Change, type Finding, type Patch, type RejectedChange } from './patch';
export { decodeEngineRequest, decodeEngineText, type EngineRequest } from './prompts';
export {
  iterationModel,
  runConsolidation,
  runIteration,
  runReview,
  runRewrite,
  type ModelSelection,
  type RunIterationInput,
} from './passes';
export { reviewSchema, type Review } from './review';
export { planIterations, runWorkflow, type RunWorkflowInput, type WorkflowResult } from './runner';
export {
  StepExecutor,
  type CacheGate,
  type StepEnvironment,
  type WorkflowEvent,
  type WorkflowStore,
} from './step-executor';
export {
  workflowSteps,
  type ApprovalDecision,
  type StepResult,
  type WorkflowPlan,
  type WorkflowStep,
} from './workflow';
export { workflowReport, type WorkflowReport } from './workflow-report';
export { parseStory, renderJson, renderMarkdown, storySchema, type Story, type StoryItem } from './story';
