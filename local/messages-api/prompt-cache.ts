import { createHash, type Hash } from 'node:crypto';
import type { MessagesRequest, WireUsage } from './wire';

/** Deterministic token estimate, about four characters a token, as the local server bills everything. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * Default minimum cacheable prefix: 1,024 tokens, Anthropic's figure for Sonnet-class models. A shorter
 * prefix is silently not cached, as on the real API. Configurable so tests with short prompts see caching.
 */
export const DEFAULT_MIN_CACHEABLE_TOKENS = 1_024;

const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;

interface Segment {
  tokens: number;
  /** TTL of a `cache_control` breakpoint on this segment, if any. */
  breakpoint: '5m' | '1h' | undefined;
  text: string;
}

/** What a request will be billed, and how to record its prefixes once the response has started. */
export interface CachePlan {
  usage: Omit<WireUsage, 'output_tokens'>;
  /** Writes the cacheable prefixes; the server calls it when the response starts, as the real API does. */
  commit(): void;
}

/**
 * Simulates Anthropic prompt caching: the prefix is tools -> output schema -> system -> messages, a
 * breakpoint caches everything up to and including its block, a request reads the longest cached prefix at
 * one of its breakpoints and writes the longer ones. The structured-output schema is part of the prefix,
 * so calls with different schemas do not share a cache. Entries become readable only once the writing
 * response has started (so N calls launched together all write), and a read refreshes the TTL.
 */
export class PromptCache {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly minCacheableTokens: number,
    private readonly now: () => number = Date.now,
  ) {}

  plan(request: MessagesRequest): CachePlan {
    const segments = segmentsOf(request);
    const hash = createHash('sha256').update(request.model);
    const breakpoints: { key: string; tokens: number; ttl: '5m' | '1h' }[] = [];
    let tokens = 0;
    for (const segment of segments) {
      hash.update('\u0000').update(segment.text);
      tokens += segment.tokens;
      if (segment.breakpoint) breakpoints.push({ key: digest(hash), tokens, ttl: segment.breakpoint });
    }
    const total = tokens;
    const now = this.now();

    let read = 0;
    for (const point of breakpoints) {
      const expires = this.entries.get(point.key);
      if (expires !== undefined && expires > now) read = Math.max(read, point.tokens);
    }
    const writes = breakpoints.filter(
      (point) => point.tokens > read && point.tokens >= this.minCacheableTokens,
    );
    let written5m = 0;
    let written1h = 0;
    let covered = read;
    for (const point of writes) {
      const delta = point.tokens - covered;
      if (point.ttl === '1h') written1h += delta;
      else written5m += delta;
      covered = point.tokens;
    }
    const hits = breakpoints.filter((point) => point.tokens <= read);

    return {
      usage: {
        input_tokens: total - read - written5m - written1h,
        cache_creation_input_tokens: written5m + written1h,
        cache_read_input_tokens: read,
        cache_creation: { ephemeral_5m_input_tokens: written5m, ephemeral_1h_input_tokens: written1h },
      },
      commit: () => {
        const at = this.now();
        for (const point of [...hits, ...writes]) {
          const current = this.entries.get(point.key) ?? 0;
          this.entries.set(point.key, Math.max(current, at + TTL_MS[point.ttl]));
        }
      },
    };
  }
}

function digest(hash: Hash): string {
  return hash.copy().digest('hex');
}

function segmentsOf(request: MessagesRequest): Segment[] {
  const segments: Segment[] = [];
  const add = (text: string, ttl: '5m' | '1h' | undefined) =>
    segments.push({ text, tokens: estimateTokens(text), breakpoint: ttl });
  const ttlOf = (control: { ttl?: '5m' | '1h' | undefined } | null | undefined) =>
    control ? (control.ttl ?? '5m') : undefined;

  for (const tool of request.tools ?? []) add(JSON.stringify(tool), undefined);
  const format = request.output_config?.format;
  if (format) add(JSON.stringify(format.schema), undefined);
  if (typeof request.system === 'string') add(request.system, undefined);
  else for (const block of request.system ?? []) add(block.text, ttlOf(block.cache_control));
  for (const message of request.messages) {
    if (typeof message.content === 'string') {
      add(message.content, undefined);
      continue;
    }
    for (const block of message.content) {
      const { cache_control: control, ...rest } = block;
      add(typeof rest.text === 'string' ? rest.text : JSON.stringify(rest), ttlOf(control));
    }
  }
  return segments;
}

/** Number of `cache_control` breakpoints in a request (the real API allows at most four). */
export function countBreakpoints(request: MessagesRequest): number {
  let count = 0;
  if (Array.isArray(request.system)) count += request.system.filter((block) => block.cache_control).length;
  for (const message of request.messages) {
    if (Array.isArray(message.content))
      count += message.content.filter((block) => block.cache_control).length;
  }
  return count;
}
