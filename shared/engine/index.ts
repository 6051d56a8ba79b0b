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
  type LlmCall,
  sumUsage,
  usageSchema,
  verificationSchema,
  type IterationResult,
  type Usage,
  type Verification,
} from './iteration-result';
export { applyIterationResult, mergeIterationResults, type MergeOutcome } from './merge';
export { createOfflineAdapter, offlineModel, type OfflineAdapterOptions } from './offline/offline-adapter';
export { validatePatches, type Change, type Finding, type Patch, type RejectedChange } from './patch';
export { decodeEngineRequest, decodeEngineText, type EngineRequest } from './prompts';
export {
  iterationModel,
  planIterations,
  runIteration,
  runWorkflow,
  type ApprovalDecision,
  type ModelSelection,
  type RunIterationInput,
  type RunWorkflowInput,
  type WorkflowEvent,
  type WorkflowResult,
} from './runner';
export { parseStory, renderJson, renderMarkdown, storySchema, type Story, type StoryItem } from './story';
