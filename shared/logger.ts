import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (one line each), with secrets redacted wherever they might appear in a logged object.
 * Functions log through `context` as well; this logger serves services, adapters and local tooling.
 */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        'authorization',
        '*.authorization',
        'headers.authorization',
        '*.headers.authorization',
        'apiKey',
        '*.apiKey',
        'key',
        '*.key',
        'connectionString',
        '*.connectionString',
        'x-api-key',
        '*.x-api-key',
      ],
      censor: '[redacted]',
    },
  });
}
