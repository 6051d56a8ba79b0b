import { z } from 'zod';
import type { CosmosStore } from '../adapters/cosmos-store';
import { decodeCursor, encodeCursor } from '../adapters/page-cursor';

/**
 * One turn of a conversation: the user's message and the job that applied it. Kept in the `jobs` container
 * under the tenant, one document per turn number, so two concurrent messages cannot both take the same turn.
 */
export const turnDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('conversationTurn'),
  userId: z.string(),
  /** The conversation's first job. */
  conversationId: z.string(),
  turn: z.number().int().positive(),
  parentJobId: z.string(),
  jobId: z.string(),
  message: z.string(),
  createdAt: z.string(),
});
export type TurnDocument = z.infer<typeof turnDocumentSchema>;

export function turnDocumentId(conversationId: string, turn: number): string {
  return `turn:${conversationId}:${turn}`;
}

/** A conversation's turns, tenant- and user-scoped in every query. */
export class ConversationRepository {
  constructor(private readonly store: CosmosStore) {}

  /** Claims the turn's number; `DocumentExistsError` when a concurrent message took it first. */
  async create(turn: TurnDocument): Promise<void> {
    await this.store.create('jobs', turn);
  }

  /** Gives the number back when the turn's job could not be admitted. */
  async delete(tenantId: string, id: string): Promise<void> {
    await this.store.delete('jobs', id, tenantId);
  }

  /** The conversation's latest turn, if any. */
  async latest(tenantId: string, userId: string, conversationId: string): Promise<TurnDocument | undefined> {
    const page = await this.store.query(
      'jobs',
      "SELECT TOP 1 * FROM c WHERE c.tenantId = @tenantId AND c.type = 'conversationTurn' AND c.userId = @userId AND c.conversationId = @conversationId ORDER BY c.turn DESC",
      { tenantId, userId, conversationId },
      turnDocumentSchema,
      { maxItems: 1 },
    );
    return page.items[0];
  }

  /** The conversation's turns in order, one page at a time; the cursor is opaque to clients. */
  async list(
    tenantId: string,
    userId: string,
    conversationId: string,
    page: { limit: number; cursor?: string },
  ): Promise<{ items: TurnDocument[]; nextCursor: string | undefined }> {
    const result = await this.store.query(
      'jobs',
      "SELECT * FROM c WHERE c.tenantId = @tenantId AND c.type = 'conversationTurn' AND c.userId = @userId AND c.conversationId = @conversationId ORDER BY c.turn ASC",
      { tenantId, userId, conversationId },
      turnDocumentSchema,
      { maxItems: page.limit, continuationToken: decodeCursor(page.cursor) },
    );
    return { items: result.items, nextCursor: encodeCursor(result.continuationToken) };
  }
}
