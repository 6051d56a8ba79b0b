/**
 * The `cursor` of paged API responses: a Cosmos continuation token as opaque URL-safe text, so clients pass it
 * back as a query parameter without escaping and do not mistake it for something to parse.
 */
export const encodeCursor = (token: string | undefined) =>
  token ? Buffer.from(token, 'utf8').toString('base64url') : undefined;

export const decodeCursor = (cursor: string | undefined) =>
  cursor ? Buffer.from(cursor, 'base64url').toString('utf8') : undefined;
