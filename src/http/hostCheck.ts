import type { OperationOutcome } from '@medplum/fhirtypes';
import type { RequestHandler } from 'express';
import { sendFhir } from './sendOutcome';

/** Names a browser on this machine uses for a loopback server. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Probes carry no data, and orchestrators call them by the pod's address: never checked. */
const PROBES = new Set(['/healthz', '/readyz']);

/** The host names a request may be addressed to: PUBLIC_BASE_URL's and the loopback names. */
export function allowedHostNames(publicBaseUrl: string): ReadonlySet<string> {
  const names = new Set(LOOPBACK_NAMES);
  try {
    names.add(new URL(publicBaseUrl).hostname.toLowerCase());
  } catch {
    // No public base URL: loopback names only.
  }
  return names;
}

/** The host name of a `Host` header (`example.org:8080` → `example.org`, `[::1]:80` → `[::1]`); undefined when it is not one. */
export function hostNameOf(header: string | undefined): string | undefined {
  if (header === undefined || header === '' || /[\s/\\?#@]/.test(header)) {
    return undefined;
  }
  try {
    return new URL(`http://${header}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Without AUTH_*, anyone who can reach the port is trusted, and a web page can make a
 * browser on this machine reach it through a name of the attacker's that resolves to
 * 127.0.0.1 (DNS rebinding): the request then carries the attacker's name in `Host`. So
 * when auth is off, a request addressed to any other name is refused with 421.
 */
export function hostCheck(allowed: ReadonlySet<string>): RequestHandler {
  return (req, res, next) => {
    if (PROBES.has(req.path)) {
      next();
      return;
    }
    const name = hostNameOf(req.headers.host);
    if (name !== undefined && allowed.has(name)) {
      next();
      return;
    }
    // 421 Misdirected Request: the request reached a server that will not answer for that name.
    sendFhir(res, 421, MISDIRECTED);
  };
}

const MISDIRECTED: OperationOutcome = {
  resourceType: 'OperationOutcome',
  id: 'misdirected-request',
  issue: [{ severity: 'error', code: 'forbidden', details: { text: 'This service does not answer requests addressed to that host name.' } }],
};
