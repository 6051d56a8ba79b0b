/**
 * Encodes data for a prompt so it can never contain a tag: `<`, `>` and `&` become JSON unicode escapes. What
 * users wrote (stories, instructions, mockup texts, backlog terms) travels in tagged blocks it cannot close.
 */
export function encodeData(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}
