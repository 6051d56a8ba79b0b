import { describe, expect, it } from 'vitest';
import { authFailure, wwwAuthenticateFor } from './failures';

describe('authentication failures', () => {
  it('are 401 unauthenticated with one generic message and the reason in details', () => {
    const expired = authFailure('token_expired');
    const unknown = authFailure('unknown_api_key');
    expect(expired.status).toBe(401);
    expect(expired.code).toBe('unauthenticated');
    expect(expired.details).toEqual({ reason: 'token_expired' });
    expect(expired.message).toBe(unknown.message);
  });

  it('challenge a caller without a credential plainly and one with a refused credential as invalid_token', () => {
    expect(wwwAuthenticateFor(authFailure('missing_credential'))).toBe('Bearer');
    expect(wwwAuthenticateFor(authFailure('token_expired'))).toBe('Bearer error="invalid_token"');
  });
});
