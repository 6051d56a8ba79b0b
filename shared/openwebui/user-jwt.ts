import { jwtVerify } from 'jose';
import { z } from 'zod';
import { authFailure } from '../auth/failures';
import { MAX_CLOCK_SKEW_SECONDS, reasonFor } from '../auth/jwt-verifier';

/** The `iss` OpenWebUI writes into the user JWTs it forwards (`FORWARD_USER_INFO_HEADER_JWT_SECRET`). */
export const OPENWEBUI_USER_JWT_ISSUER = 'open-webui';
/** OpenWebUI's user JWTs live 300 s; one that claims longer was not made by it. */
export const MAX_USER_JWT_LIFETIME_SECONDS = 300;
/** The header OpenWebUI sends the signed user in. */
export const USER_JWT_HEADER = 'x-openwebui-user-jwt';

/** The chat user a verified OpenWebUI user JWT names. */
export interface OpenWebUiUser {
  sub: string;
  email?: string;
  name?: string;
}

const optionalText = z.string().min(1).max(400).optional().catch(undefined);
const subSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** A refused user JWT: 401 with the reason and which credential it was, never any part of the token. */
function refused(reason: Parameters<typeof authFailure>[0]) {
  return authFailure(reason, { credential: 'openwebui_user_jwt' });
}

/**
 * Verifies an OpenWebUI user JWT with its connection's shared secret: HS256 only (`alg: none` and every
 * other algorithm refused), `iss: open-webui`, `exp`/`iat`/`sub` required, at most 300 s from `iat` to
 * `exp`, at most 60 s of clock skew. A token signed with another connection's secret fails its signature.
 */
export async function verifyOpenWebUiUserJwt(
  token: string,
  secret: string,
  now: Date,
): Promise<OpenWebUiUser> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: ['HS256'],
      issuer: OPENWEBUI_USER_JWT_ISSUER,
      requiredClaims: ['exp', 'iat', 'sub'],
      clockTolerance: MAX_CLOCK_SKEW_SECONDS,
      maxTokenAge: MAX_USER_JWT_LIFETIME_SECONDS,
      currentDate: now,
    }));
  } catch (error: unknown) {
    // Nothing is fetched for an HMAC token, so an error jose does not classify is a malformed token.
    const reason = reasonFor(error);
    throw refused(reason === 'issuer_unavailable' ? 'malformed_token' : reason);
  }
  const { exp = 0, iat = 0 } = payload;
  if (iat > now.getTime() / 1000 + MAX_CLOCK_SKEW_SECONDS) throw refused('token_not_yet_valid');
  if (exp - iat > MAX_USER_JWT_LIFETIME_SECONDS) throw refused('token_lifetime_too_long');
  const sub = subSchema.safeParse(payload.sub);
  if (!sub.success) throw authFailure('claim_invalid', { credential: 'openwebui_user_jwt', claim: 'sub' });
  const email = optionalText.parse(payload.email);
  const name = optionalText.parse(payload.name);
  return {
    sub: sub.data,
    ...(email === undefined ? {} : { email }),
    ...(name === undefined ? {} : { name }),
  };
}
