import { type Config, isLoopback } from '../config';

/**
 * What an operator must hear at every start when ALLOW_INSECURE=true is set: it is easy
 * to leave on after a demo, and then the service takes requests nobody authenticated.
 * Empty when it is not set. (A non-loopback HOST without AUTH_* and without it never
 * gets this far: loadConfig refuses to start.)
 */
export function insecureStartWarnings(config: Config): string[] {
  if (!config.allowInsecure) {
    return [];
  }
  if (config.auth) {
    return [
      'ALLOW_INSECURE=true is set: AUTH_* still protects the API, but a check with no credential configured (the Subscription receiver without WEBHOOK_SECRET) lets requests through unauthenticated',
    ];
  }
  const exposure = isLoopback(config.host)
    ? `on ${config.host} (loopback)`
    : `on ${config.host}, a non-loopback address: anyone who can reach it can read and write patient data`;
  return [`ALLOW_INSECURE=true: serving without authentication ${exposure}`];
}
