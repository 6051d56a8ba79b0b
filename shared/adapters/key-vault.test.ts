import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startLocalKeyVault, type LocalKeyVault } from '../../local/key-vault/server';
import { startLocalManagedIdentity, type LocalManagedIdentity } from '../../local/managed-identity/server';
import { schemaResponder } from '../../local/messages-api/schema-responder';
import { startMessagesApiServer, type MessagesApiServer } from '../../local/messages-api/server';
import { createAnthropicAdapter, type LlmAttemptEvent } from '../llm/anthropic-adapter';
import { createSecretProvider } from '../secrets/secret-provider';
import { createKeyVaultReader } from './key-vault';

/**
 * The Key Vault path end to end on loopback: `@azure/keyvault-secrets` with `DefaultAzureCredential` (token
 * from the local managed-identity endpoint, as on Azure Functions) against the local Key Vault server, and
 * the Anthropic adapter taking its key from that vault while the local Messages API refuses old keys.
 */
let identity: LocalManagedIdentity;
let vault: LocalKeyVault;
let messages: MessagesApiServer;

beforeAll(async () => {
  identity = await startLocalManagedIdentity();
  // DefaultAzureCredential reads these when it is built, as it does from the platform in Azure.
  Object.assign(process.env, identity.env);
  vault = await startLocalKeyVault({ verifyToken: (token, resource) => identity.verify(token, resource) });
  messages = await startMessagesApiServer({ responder: schemaResponder, apiKey: 'anthropic-key-1' });
});

afterAll(async () => {
  await messages?.close();
  await vault?.close();
  await identity?.close();
});

describe('Key Vault adapter against the local Key Vault', () => {
  it('reads the latest or a given version through the bearer challenge, with a managed-identity token', async () => {
    const first = vault.setSecret('read-test', 'value-1');
    vault.setSecret('read-test', 'value-2');
    const reader = createKeyVaultReader();
    expect(await reader.read(vault.secretUri('read-test'))).toBe('value-2');
    expect(await reader.read(`${vault.secretUri('read-test')}/${first}`)).toBe('value-1');
    expect(vault.stats.challenges).toBeGreaterThanOrEqual(1);
    expect(vault.stats.refused).toBe(0);
    expect(identity.tokensIssued()).toBeGreaterThanOrEqual(1);
  });

  it('reports a missing secret by name as a configuration error, never a value', async () => {
    vault.setSecret('present', 'do-not-print-me');
    const error = await createKeyVaultReader()
      .read(vault.secretUri('absent'))
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'internal' });
    expect(String((error as Error).message)).toContain('"absent" does not exist');
  });

  it('caches a secret for its TTL: many gets, one request at the vault', async () => {
    vault.setSecret('cached', 'cached-value');
    const secrets = createSecretProvider({
      sources: { API_KEY_PEPPER: { uri: vault.secretUri('cached') } },
      reader: createKeyVaultReader(),
      ttlMs: 60_000,
    });
    // The pepper setting's schema wants 32+ characters; this value is checked by it.
    vault.setSecret('cached', 'c'.repeat(40));
    const values = await Promise.all(Array.from({ length: 20 }, () => secrets.get('API_KEY_PEPPER')));
    for (let i = 0; i < 10; i++) await secrets.get('API_KEY_PEPPER');
    expect(new Set(values)).toEqual(new Set(['c'.repeat(40)]));
    expect(vault.stats.reads.cached).toBe(1);
  });

  it('rotation: Anthropic refuses the old key with 401, the adapter re-reads the vault once and succeeds', async () => {
    vault.setSecret('anthropic-api-key', 'anthropic-key-1');
    const secrets = createSecretProvider({
      sources: { ANTHROPIC_API_KEY: { uri: vault.secretUri('anthropic-api-key') } },
      reader: createKeyVaultReader(),
      ttlMs: 300_000,
    });
    const attempts: LlmAttemptEvent[] = [];
    const llm = createAnthropicAdapter({
      apiKey: async ({ refresh }) =>
        (refresh ? await secrets.refresh('ANTHROPIC_API_KEY') : await secrets.get('ANTHROPIC_API_KEY')) ?? '',
      baseURL: messages.url,
      timeoutMs: 10_000,
      maxRetries: 0,
      onAttempt: (event) => attempts.push(event),
    });
    const request = {
      model: 'claude-sonnet-5-5',
      instructions: 'Answer with the schema.',
      context: 'story',
      task: 'task',
      schema: z.object({ summary: z.string() }),
      schemaName: 'summary',
      maxTokens: 200,
      purpose: { kind: 'iteration' as const, iterationId: 'security', attempt: 1 },
    };
    await llm.generate(request);
    expect(vault.stats.reads['anthropic-api-key']).toBe(1);

    // Rotate: the vault holds a new key, and Anthropic stops accepting the old one.
    vault.setSecret('anthropic-api-key', 'anthropic-key-2');
    messages.setApiKey('anthropic-key-2');
    const refusedBefore = messages.stats.byStatus[401] ?? 0;
    const answer = await llm.generate(request);
    expect(answer.output.summary).toEqual(expect.any(String));
    expect((messages.stats.byStatus[401] ?? 0) - refusedBefore).toBe(1);
    expect(vault.stats.reads['anthropic-api-key']).toBe(2);
    expect(attempts.slice(-2).map((event) => event.outcome)).toEqual(['retry', 'success']);

    // A key nobody rotated stays refused: at most one re-read, one request, and the 401 is final (no loop).
    messages.setApiKey('anthropic-key-3');
    const refusedBeforeThird = messages.stats.byStatus[401] ?? 0;
    await expect(llm.generate(request)).rejects.toMatchObject({ code: 'llm_request_rejected' });
    expect((messages.stats.byStatus[401] ?? 0) - refusedBeforeThird).toBe(1);
    expect(vault.stats.reads['anthropic-api-key']).toBeLessThanOrEqual(3);
    expect(JSON.stringify(attempts)).not.toContain('anthropic-key-');
  });
});
