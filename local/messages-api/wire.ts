import { z } from 'zod';
import type { Attachment } from '../../shared/llm/port';
import { readAttachments } from '../../shared/llm/prompt-layout';

/**
 * The subset of Anthropic's Messages API request body the local server understands, validated with zod.
 * Unknown fields pass through (the real API has many; the server ignores what it does not simulate).
 */
const cacheControlSchema = z.object({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).optional() });

const textBlockSchema = z.looseObject({
  type: z.literal('text'),
  text: z.string(),
  cache_control: cacheControlSchema.nullish(),
});

const otherBlockSchema = z.looseObject({ type: z.string(), cache_control: cacheControlSchema.nullish() });

const contentBlockSchema = z.union([textBlockSchema, otherBlockSchema]);

export const messagesRequestSchema = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  system: z.union([z.string(), z.array(textBlockSchema)]).optional(),
  messages: z
    .array(
      z.object({
        role: z.enum(['user', 'assistant']),
        content: z.union([z.string(), z.array(contentBlockSchema)]),
      }),
    )
    .min(1),
  stream: z.boolean().optional(),
  tools: z.array(z.looseObject({})).optional(),
  tool_choice: z.looseObject({ type: z.string() }).optional(),
  output_config: z
    .looseObject({
      format: z
        .object({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) })
        .nullish(),
    })
    .nullish(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  top_k: z.number().optional(),
});

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

/** The image and document blocks of the user messages; throws for a malformed one, as the real API refuses it. */
export function requestAttachments(params: unknown): Attachment[] {
  const parsed = messagesRequestSchema.safeParse(params);
  if (!parsed.success) return [];
  return parsed.data.messages
    .filter((message) => message.role === 'user' && Array.isArray(message.content))
    .flatMap((message) => readAttachments(Array.isArray(message.content) ? message.content : []));
}

/** Usage as the Messages API reports it. */
export interface WireUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
}

/** Error `type`s of Anthropic's error bodies that the server emits. */
export type WireErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

/** `{ type: 'error', error: { type, message, details? } }`, the body of every error response and mid-stream error event. */
export function errorBody(
  type: WireErrorType,
  message: string,
  requestId?: string,
  errorCode?: string,
): Record<string, unknown> {
  return {
    type: 'error',
    error: { type, message, ...(errorCode ? { details: { error_code: errorCode } } : {}) },
    ...(requestId ? { request_id: requestId } : {}),
  };
}
