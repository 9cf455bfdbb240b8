import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface WebhookAuthSettings {
  /** WEBHOOK_SECRET; undefined = every notification refused, unless `allowInsecure`. */
  readonly secret: string | undefined;
  /** ALLOW_INSECURE=true: with no secret, notifications are taken unauthenticated (a local demo). */
  readonly allowInsecure: boolean;
}

/**
 * The signature header: `sha256=<hex HMAC-SHA256, keyed with WEBHOOK_SECRET, of
 * "<X-Webhook-Timestamp>.<X-Webhook-Id>." followed by the body bytes exactly as sent>`.
 */
export const SIGNATURE_HEADER = 'x-hub-signature-256';
/** When the sender signed, in whole seconds since the epoch. */
export const TIMESTAMP_HEADER = 'x-webhook-timestamp';
/** The notification's unique id (a nonce): a signed notification is taken once. */
export const NOTIFICATION_ID_HEADER = 'x-webhook-id';

/** A signature is good this long either side of our clock; its id is remembered as long. */
export const SIGNATURE_WINDOW_SECONDS = 300;
/** Ids remembered at most; a flood past it would need that many validly signed notifications. */
const REMEMBERED_IDS = 100_000;
const NOTIFICATION_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export interface WebhookCredentials {
  readonly authorization: string | undefined;
  readonly signature: string | undefined;
  readonly timestamp: string | undefined;
  readonly id: string | undefined;
  /** Content-Encoding as sent: the body parsers inflate, so a compressed body's received bytes are gone. */
  readonly contentEncoding: string | undefined;
  readonly rawBody: Buffer;
}

/**
 * `accepted`: handle it, then call `settle` with whether that succeeded (`replayKey` is set
 * for a signed notification). `refused`: answer `status` with `text`, and do nothing.
 */
export type WebhookVerdict =
  | { readonly verdict: 'accepted'; readonly how: 'bearer' | 'signature' | 'insecure'; readonly replayKey?: string }
  | { readonly verdict: 'refused'; readonly status: 401 | 409 | 415; readonly text: string };

const UNAUTHENTICATED: WebhookVerdict = {
  verdict: 'refused',
  status: 401,
  text: `This notification does not carry WEBHOOK_SECRET (Authorization: Bearer …) or a valid X-Hub-Signature-256 with ${TIMESTAMP_HEADER} and ${NOTIFICATION_ID_HEADER}.`,
};

/**
 * A notification is genuine when it carries the secret as the Subscription's
 * `channel.header` sends it (`Authorization: Bearer <secret>`), or signs its bytes with it.
 *
 * A signed notification is also fresh and used once (issue 19: they were replayable): its
 * timestamp must be within SIGNATURE_WINDOW_SECONDS of our clock and its id not seen in
 * that window. An id is remembered once its notification was handled; one whose handling
 * failed may be sent again (the sender's retry after our 5xx). The HMAC is over the bytes
 * received (issue 19: it was checked over the decompressed body): a signed body with a
 * Content-Encoding is refused (415), since only its inflated form reaches us.
 *
 * Comparisons take constant time: the bearer value as a SHA-256 digest (equal lengths
 * whatever was sent), the signature as bytes of the same length.
 */
export class WebhookAuthenticator {
  private readonly seen = new Map<string, number>();
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly settings: WebhookAuthSettings,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000)
  ) {}

  check(credentials: WebhookCredentials): WebhookVerdict {
    const { secret } = this.settings;
    if (secret === undefined) {
      return this.settings.allowInsecure ? { verdict: 'accepted', how: 'insecure' } : UNAUTHENTICATED;
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(credentials.authorization?.trim() ?? '')?.[1];
    if (bearer !== undefined && timingSafeEqual(digest(bearer), digest(secret))) {
      return { verdict: 'accepted', how: 'bearer' };
    }
    const signature = /^sha256=([0-9a-f]{64})$/i.exec(credentials.signature?.trim() ?? '')?.[1];
    const timestamp = /^\d{1,12}$/.test(credentials.timestamp?.trim() ?? '') ? Number(credentials.timestamp) : undefined;
    const id = credentials.id?.trim();
    if (signature === undefined || timestamp === undefined || id === undefined || !NOTIFICATION_ID.test(id)) {
      return UNAUTHENTICATED;
    }
    const expected = createHmac('sha256', secret).update(`${timestamp}.${id}.`).update(credentials.rawBody).digest();
    if (!timingSafeEqual(Buffer.from(signature, 'hex'), expected)) {
      return UNAUTHENTICATED;
    }
    const encoding = credentials.contentEncoding?.trim().toLowerCase();
    if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
      return {
        verdict: 'refused',
        status: 415,
        text: 'A signed notification must be sent without Content-Encoding: the signature is checked over the bytes received.',
      };
    }
    const now = this.nowSeconds();
    if (Math.abs(now - timestamp) > SIGNATURE_WINDOW_SECONDS) {
      return {
        verdict: 'refused',
        status: 401,
        text: `The notification's ${TIMESTAMP_HEADER} is more than ${SIGNATURE_WINDOW_SECONDS} s from this server's clock: sign it again.`,
      };
    }
    this.forgetExpired(now);
    if (this.seen.has(id) || this.inFlight.has(id)) {
      return { verdict: 'refused', status: 409, text: `A notification with this ${NOTIFICATION_ID_HEADER} was already received: it is not handled twice.` };
    }
    this.inFlight.add(id);
    return { verdict: 'accepted', how: 'signature', replayKey: `${id} ${timestamp}` };
  }

  /** After handling an accepted signed notification: remember its id if it was handled, free it if not. */
  settle(replayKey: string | undefined, handled: boolean): void {
    if (replayKey === undefined) {
      return;
    }
    const [id = '', timestamp = '0'] = replayKey.split(' ');
    this.inFlight.delete(id);
    if (handled) {
      this.seen.set(id, Number(timestamp) + SIGNATURE_WINDOW_SECONDS);
      if (this.seen.size > REMEMBERED_IDS) {
        const oldest = this.seen.keys().next().value;
        if (oldest !== undefined) {
          this.seen.delete(oldest);
        }
      }
    }
  }

  /** Ids whose timestamps have left the window: a replay of them fails the timestamp check anyway. */
  private forgetExpired(now: number): void {
    for (const [id, until] of this.seen) {
      if (until >= now) {
        return;
      }
      this.seen.delete(id);
    }
  }
}

/** The signature a sender puts in X-Hub-Signature-256 (exported for senders' tests and tools). */
export function signNotification(secret: string, timestamp: number, id: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${id}.`).update(body).digest('hex')}`;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
