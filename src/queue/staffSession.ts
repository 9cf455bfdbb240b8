import { createHmac, timingSafeEqual } from 'node:crypto';

/** The signed-in staff member, kept in a cookie: no patient data, no tokens. */
export interface StaffSession {
  readonly purpose: 'session';
  /** Random: what sign-out revokes, and what the sign-out form's CSRF token is bound to. */
  readonly sid: string;
  readonly sub: string;
  readonly name: string;
  /** `Practitioner/{id}` from the ID token's fhirUser claim, when it had one: the reviewer of the queue's review forms. */
  readonly fhirUser?: string | undefined;
  /** Milliseconds since the epoch. */
  readonly exp: number;
}

/** What the sign-in redirect must find again at the callback (RFC 6749 state, OIDC nonce, PKCE verifier). */
export interface SignInState {
  readonly purpose: 'sign-in';
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly exp: number;
}

export type SignedPayload = StaffSession | SignInState;

/**
 * Signs and checks cookie payloads with HMAC-SHA256 under a key derived from SESSION_SECRET
 * for this purpose only, so a cookie another feature (the SMART app) signs with the same
 * secret never passes here. The payload is readable by its holder (base64url JSON), so it
 * holds nothing secret: the signature only makes it unforgeable.
 */
export class CookieSigner {
  private readonly key: Buffer;

  constructor(sessionSecret: string | Buffer) {
    this.key = createHmac('sha256', sessionSecret).update('hip-pain-triage staff queue cookies v1').digest();
  }

  sign(payload: SignedPayload): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /** The payload when the signature is right, the purpose matches and it has not expired; else undefined. */
  verify<P extends SignedPayload['purpose']>(value: string | undefined, purpose: P, nowMs: number): Extract<SignedPayload, { purpose: P }> | undefined {
    const [body, mac, extra] = (value ?? '').split('.');
    if (!body || !mac || extra !== undefined) {
      return undefined;
    }
    const expected = Buffer.from(this.mac(body));
    const presented = Buffer.from(mac);
    if (expected.length !== presented.length || !timingSafeEqual(expected, presented)) {
      return undefined;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const p = payload as Partial<SignedPayload> | null;
    if (!p || p.purpose !== purpose || typeof p.exp !== 'number' || p.exp <= nowMs) {
      return undefined;
    }
    // A session from before sessions could be revoked has nothing to revoke it by.
    if (p.purpose === 'session' && (typeof p.sid !== 'string' || p.sid === '')) {
      return undefined;
    }
    return p as Extract<SignedPayload, { purpose: P }>;
  }

  /** The sign-out form's CSRF token: bound to one session, unforgeable without SESSION_SECRET. */
  csrfToken(session: StaffSession): string {
    return this.mac(`csrf:${session.sid}`);
  }

  /** Whether `presented` is this session's CSRF token; constant time. */
  checkCsrfToken(session: StaffSession, presented: unknown): boolean {
    if (typeof presented !== 'string') {
      return false;
    }
    const expected = Buffer.from(this.csrfToken(session));
    const given = Buffer.from(presented);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}

/** One cookie's value from a Cookie header; undefined when absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

/**
 * Sessions signed out before they expired. The cookie itself stays valid by signature, so
 * the server remembers its `sid` until its `exp`, and refuses it meanwhile. In memory:
 * a restart forgets it (see docs/security/threat-model.md); bounded, the entries closest
 * to expiry leaving first.
 */
export class RevokedSessions {
  private readonly revoked = new Map<string, number>();

  constructor(private readonly capacity = 100_000) {}

  revoke(session: StaffSession, nowMs: number): void {
    for (const [sid, exp] of this.revoked) {
      if (exp <= nowMs || this.revoked.size >= this.capacity) {
        this.revoked.delete(sid);
      }
    }
    this.revoked.set(session.sid, session.exp);
  }

  isRevoked(session: StaffSession): boolean {
    return this.revoked.has(session.sid);
  }
}
