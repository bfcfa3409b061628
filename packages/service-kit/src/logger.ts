import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs to stdout. Credentials never reach a log line: the paths below are censored
 * wherever they appear, and request logging records no headers at all.
 */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: [
        'authorization',
        '*.authorization',
        'token',
        '*.token',
        'tokens',
        '*.tokens',
        'apiToken',
        '*.apiToken',
      ],
      censor: '[redacted]',
    },
  });
}
