import type { Request } from 'express';
import type { Config } from '../config';
import { queueAccess } from '../queue/queueAccess';
import { SESSION_COOKIE } from '../queue/queueRoutes';
import { CookieSigner, readCookie, type RevokedSessions } from '../queue/staffSession';

/** What the staff pages outside the queue router (the dashboard, the review form) decide about a request. */
export type StaffDecision =
  | {
      readonly kind: 'allowed';
      readonly staff: { readonly sub: string; readonly name: string; readonly fhirUser?: string | undefined } | undefined;
    }
  | { readonly kind: 'forbidden' | 'sign-in' | 'unavailable' };

/**
 * The seam to the queue's staff sign-in: who is a signed-in staff member. The dashboard
 * and the review form take this function, so at merge the queue's own verifier can be
 * passed in instead of this one.
 */
export type StaffGate = (req: Request) => StaffDecision;

/**
 * The /queue rule, reused (not copied): without AUTH_* the local machine only; with it, a
 * valid `hip_triage_staff` session cookie (Path=/queue, which is why these pages live under
 * /queue). The cookie is checked with a signer keyed from SESSION_SECRET, the key the queue
 * derives; without SESSION_SECRET the queue signs with a random key of its own, which this
 * module cannot share, so the pages fail closed ('unavailable').
 */
export function staffGateFromConfig(
  config: Config,
  options: { readonly revoked?: RevokedSessions | undefined; readonly nowMs?: () => number } = {}
): StaffGate {
  const nowMs = options.nowMs ?? Date.now;
  const signInRequired = config.auth !== undefined;
  const staffClientConfigured = config.staff.clientId !== undefined && config.staff.clientSecret !== undefined;
  const signer = config.sessionSecret ? new CookieSigner(config.sessionSecret) : undefined;
  return (req) => {
    const signed = signer?.verify(readCookie(req.headers.cookie, SESSION_COOKIE), 'session', nowMs());
    // Signed out on /queue: refused here too (the queue and these pages share the revocations).
    const session = signed && !options.revoked?.isRevoked(signed) ? signed : undefined;
    const access = queueAccess({
      signInRequired,
      staffClientConfigured: staffClientConfigured && signer !== undefined,
      remoteAddress: req.socket.remoteAddress,
      hasStaffSession: session !== undefined,
    });
    return access === 'allowed'
      ? { kind: 'allowed', staff: session ? { sub: session.sub, name: session.name, fhirUser: session.fhirUser } : undefined }
      : { kind: access };
  };
}
