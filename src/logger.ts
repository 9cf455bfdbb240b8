import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs. Health data must never reach them: code logs ids, counts and
 * codes only, and these paths are redacted as a second line of defence.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'hip-pain-triage' },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'token', 'access_token', 'body', 'resource', 'patient', 'answers'],
        censor: '[redacted]',
      },
    },
    destination
  );
}
