import { answerEngineRequest } from '../../shared/engine/offline/offline-adapter';
import { offlineMockupInventory } from '../../shared/engine/offline/mockup-rules';
import { decodeEngineRequest } from '../../shared/engine/prompts';
import { requestAttachments } from './wire';
import type { Responder } from './server';

/**
 * Answers the local Messages API server with the offline engine's content: the request is decoded from the
 * prompt text alone (system and user blocks, as the Anthropic adapter lays them out), so the server
 * exercises exactly what a real model would receive. A mockup request is answered from its image and
 * document blocks. A request that is not an engine request is rejected.
 */
export const offlineResponder: Responder = async (params, { purpose }) => {
  if (purpose?.kind === 'mockup')
    return JSON.stringify(await offlineMockupInventory(requestAttachments(params)));
  return answerEngineRequest(decodeEngineRequest(params));
};
