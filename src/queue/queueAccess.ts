import { isLoopbackAddress } from '../http/metricsRoute';

/**
 * - `allowed`: serve the page.
 * - `forbidden`: no sign-in on this instance and the client is not on this machine.
 * - `sign-in`: sign-in is on and there is no valid staff session: start the OpenID Connect flow.
 * - `unavailable`: AUTH_* is set but no staff client is registered (STAFF_CLIENT_ID/SECRET): fail closed.
 */
export type QueueAccess = 'allowed' | 'forbidden' | 'sign-in' | 'unavailable';

export interface QueueAccessInput {
  /** AUTH_* is configured: staff must sign in. */
  readonly signInRequired: boolean;
  /** STAFF_CLIENT_ID and STAFF_CLIENT_SECRET are set. */
  readonly staffClientConfigured: boolean;
  /** The socket's remote address (never a forwarded header, which the client writes itself). */
  readonly remoteAddress: string | undefined;
  /** The request carries a valid, unexpired staff session cookie. */
  readonly hasStaffSession: boolean;
}

/**
 * Who may see the queue, which names patients. Without AUTH_* the service has no notion of
 * a user, so only the local machine is served; with it, only a signed-in staff member is,
 * from anywhere, loopback included (a reverse proxy on the same host makes everyone local).
 */
export function queueAccess(input: QueueAccessInput): QueueAccess {
  if (!input.signInRequired) {
    return isLoopbackAddress(input.remoteAddress) ? 'allowed' : 'forbidden';
  }
  if (!input.staffClientConfigured) {
    return 'unavailable';
  }
  return input.hasStaffSession ? 'allowed' : 'sign-in';
}
