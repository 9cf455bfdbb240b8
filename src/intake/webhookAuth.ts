import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface WebhookAuthSettings {
  /** WEBHOOK_SECRET; undefined = every notification refused, unless `allowInsecure`. */
  readonly secret: string | undefined;
  /** ALLOW_INSECURE=true: with no secret, notifications are taken unauthenticated (a local demo). */
  readonly allowInsecure: boolean;
}

/** The signature header: `sha256=<hex HMAC-SHA256 of the raw body, keyed with WEBHOOK_SECRET>`. */
export const SIGNATURE_HEADER = 'x-hub-signature-256';

export interface WebhookCredentials {
  readonly authorization: string | undefined;
  readonly signature: string | undefined;
  readonly rawBody: Buffer;
}

/**
 * A notification is genuine when it carries the secret as the Subscription's
 * `channel.header` sends it (`Authorization: Bearer <secret>`), or signs its raw body with
 * it (HMAC-SHA256). Both comparisons take constant time: the bearer value is compared as a
 * SHA-256 digest (equal lengths whatever was sent), the signature as bytes of the same length.
 */
export function isGenuineNotification(settings: WebhookAuthSettings, credentials: WebhookCredentials): boolean {
  const { secret } = settings;
  if (secret === undefined) {
    return settings.allowInsecure;
  }
  const bearer = /^Bearer\s+(.+)$/i.exec(credentials.authorization?.trim() ?? '')?.[1];
  if (bearer !== undefined && timingSafeEqual(digest(bearer), digest(secret))) {
    return true;
  }
  const signature = /^sha256=([0-9a-f]{64})$/i.exec(credentials.signature?.trim() ?? '')?.[1];
  if (signature !== undefined) {
    const expected = createHmac('sha256', secret).update(credentials.rawBody).digest();
    return timingSafeEqual(Buffer.from(signature, 'hex'), expected);
  }
  return false;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
