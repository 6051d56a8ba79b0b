import { SignJWT, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { verifyOpenWebUiUserJwt } from './user-jwt';

const secret = 'connection-one-secret-of-at-least-32-chars';
const now = new Date('2026-12-01T12:00:00Z');
const nowSeconds = now.getTime() / 1000;

/** A user JWT as OpenWebUI signs it (HS256, 300 s), with `claims` overriding or removing (undefined) any. */
function userJwt(claims: JWTPayload = {}, key = secret): Promise<string> {
  return new SignJWT({
    sub: '6a1f0c2e-user',
    email: 'ann@acme.test',
    name: 'Ann',
    role: 'user',
    iss: 'open-webui',
    iat: nowSeconds,
    exp: nowSeconds + 300,
    ...claims,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(key));
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function reasonOf(token: string): Promise<unknown> {
  const error: unknown = await verifyOpenWebUiUserJwt(token, secret, now).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof AppError)) throw new Error('expected a refusal');
  expect(error.status).toBe(401);
  expect(error.message).not.toContain(token);
  return error.details?.reason;
}

describe('OpenWebUI user JWT', () => {
  it('accepts a token as OpenWebUI signs it and names the user, their email and name', async () => {
    await expect(verifyOpenWebUiUserJwt(await userJwt(), secret, now)).resolves.toEqual({
      sub: '6a1f0c2e-user',
      email: 'ann@acme.test',
      name: 'Ann',
    });
  });

  it('accepts 60 s of clock skew either way', async () => {
    const early = await userJwt({ iat: nowSeconds + 50, exp: nowSeconds + 350 });
    await expect(verifyOpenWebUiUserJwt(early, secret, now)).resolves.toMatchObject({ sub: '6a1f0c2e-user' });
    const late = await userJwt({ iat: nowSeconds - 330, exp: nowSeconds - 30 });
    await expect(verifyOpenWebUiUserJwt(late, secret, now)).resolves.toMatchObject({ sub: '6a1f0c2e-user' });
  });

  it.each<[string, () => Promise<string>, string]>([
    [
      'expired beyond the skew',
      () => userJwt({ iat: nowSeconds - 400, exp: nowSeconds - 100 }),
      'token_expired',
    ],
    [
      'issued more than 300 s + skew ago',
      () => userJwt({ iat: nowSeconds - 400, exp: nowSeconds + 100 }),
      'token_expired',
    ],
    ['living longer than 300 s', () => userJwt({ exp: nowSeconds + 3600 }), 'token_lifetime_too_long'],
    [
      'issued in the future',
      () => userJwt({ iat: nowSeconds + 120, exp: nowSeconds + 400 }),
      'token_not_yet_valid',
    ],
    [
      'signed with another connection’s secret',
      () => userJwt({}, 'connection-two-secret-of-at-least-32-chars'),
      'signature_invalid',
    ],
    [
      'tampered with (sub changed after signing)',
      async () => {
        const [header, , signature] = (await userJwt()).split('.');
        return `${header}.${b64({ sub: 'someone-else', iss: 'open-webui', iat: nowSeconds, exp: nowSeconds + 300 })}.${signature}`;
      },
      'signature_invalid',
    ],
    [
      'unsigned (alg: none)',
      () =>
        Promise.resolve(
          `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', iss: 'open-webui', iat: nowSeconds, exp: nowSeconds + 300 })}.`,
        ),
      'algorithm_not_allowed',
    ],
    [
      'signed with HS512',
      () =>
        new SignJWT({ sub: 'x', iss: 'open-webui', iat: nowSeconds, exp: nowSeconds + 300 })
          .setProtectedHeader({ alg: 'HS512' })
          .sign(new TextEncoder().encode(secret)),
      'algorithm_not_allowed',
    ],
    ['from another issuer', () => userJwt({ iss: 'someone' }), 'claim_invalid'],
    ['without exp', () => userJwt({ exp: undefined }), 'claim_invalid'],
    ['without iat', () => userJwt({ iat: undefined }), 'claim_invalid'],
    ['without sub', () => userJwt({ sub: undefined }), 'claim_invalid'],
    ['with a sub containing spaces', () => userJwt({ sub: 'a b' }), 'claim_invalid'],
    ['garbage', () => Promise.resolve('not.a.jwt'), 'malformed_token'],
  ])('refuses a token %s', async (_name, make, reason) => {
    expect(await reasonOf(await make())).toBe(reason);
  });
});
