import { toAppError } from '../errors';
import { CallLog, passModel, type CallOptions } from './passes';
import type { Story } from './story';
import {
  type BacklogEntry,
  type SystemContext,
  type SystemPassId,
  type SystemPassResult,
} from './system-analysis';
import { buildSystemPassRequest } from './system-prompts';

/** What a system pass reads: the backlog, and (after discovery) the context discovery found. */
export interface SystemPassInput extends CallOptions {
  pass: SystemPassId;
  backlog: readonly BacklogEntry<Story>[];
  context?: SystemContext;
}

/**
 * Runs one system pass over the backlog: one call on the pass model. An LLM failure becomes a `failed`
 * result (the backlog keeps its refined stories and reports the failure); cancellation is thrown.
 */
export async function runSystemPass(input: SystemPassInput): Promise<SystemPassResult> {
  const log = new CallLog(input);
  const base = { id: input.pass, model: '', summary: '' };
  try {
    const output = await log.call(
      buildSystemPassRequest({
        pass: input.pass,
        backlog: input.backlog,
        ...(input.context ? { context: input.context } : {}),
        model: passModel(input.models),
        attempt: 1,
        signal: input.signal,
        timeoutMs: input.timeoutMs,
      }),
    );
    const known = new Set(input.backlog.map((entry) => entry.id));
    const fields =
      input.pass === 'discovery'
        ? {
            context: {
              actors: output.actors,
              entities: output.entities,
              screens: output.screens,
              vocabulary: output.vocabulary,
            },
          }
        : input.pass === 'interconnection'
          ? {
              // A model may name a story the backlog does not have, or relate a story to itself.
              relationships: output.relationships.filter(
                (link) => link.from !== link.to && known.has(link.from) && known.has(link.to),
              ),
            }
          : {
              findings: output.findings.filter((finding) => finding.storyIds.every((id) => known.has(id))),
            };
    return {
      ...base,
      ...fields,
      status: 'applied',
      summary: output.summary,
      model: log.model,
      usage: log.usage,
      durationMs: log.elapsedMs(),
      calls: log.calls,
    };
  } catch (thrown: unknown) {
    const error = toAppError(thrown);
    if (error.code === 'cancelled') throw error;
    return {
      ...base,
      status: 'failed',
      summary: `${input.pass} failed: ${error.message}`,
      model: log.model,
      usage: log.usage,
      durationMs: log.elapsedMs(),
      calls: log.calls,
      error: error.toJSON(),
    };
  }
}
