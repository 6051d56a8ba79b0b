import { answerEngineRequest } from '../../shared/engine/offline/offline-adapter';
import { decodeEngineRequest } from '../../shared/engine/prompts';
import type { Responder } from './server';

/**
 * Answers the local Messages API server with the offline engine's content: the request is decoded from the
 * prompt text alone (system and user blocks, as the Anthropic adapter lays them out), so the server
 * exercises exactly what a real model would receive. A request that is not an engine request is rejected.
 */
export const offlineResponder: Responder = (params) =>
  Promise.resolve().then(() => answerEngineRequest(decodeEngineRequest(params)));
