/**
 * Which credential a route takes. Everything not listed is `bearer`: a new route is closed
 * until someone decides otherwise. Open paths match exactly (never as a prefix of a longer
 * path), and the prefix families below refuse dot segments and encoded slashes or dots, so
 * `/smart/../fhir/Patient/1` is not waved through as a SMART page.
 */
export type RouteCredential =
  /** No token: liveness, readiness, discovery documents, and pages that keep their own session. */
  | 'open'
  /** `/metrics`: loopback or METRICS_TOKEN (metricsRoute decides). */
  | 'metrics'
  /** The Subscription receiver: WEBHOOK_SECRET (the receiver decides); FHIR servers cannot present our tokens. */
  | 'webhook'
  /** A CDS Hooks service call: the EHR's JWT (CDS_TRUSTED_ISSUERS), else the general rule. */
  | 'cds'
  | 'bearer';

// '/dashboard' only redirects to /queue/dashboard, which checks the staff session itself.
const OPEN_GET = new Set(['/healthz', '/readyz', '/openapi.json', '/fhir/metadata', '/fhir/.well-known/smart-configuration', '/cds-services', '/dashboard']);

/** Families whose routers check a session cookie of their own (the SMART app, the staff queue). */
const SESSION_PREFIXES = ['/smart', '/queue'];
const WEBHOOK_PREFIX = '/subscriptions/questionnaire-response';
const CDS_PREFIX = '/cds-services/';

/** `.` or `..` segments, or a percent-encoded `.`, `/` or `\`: never part of a legitimate route here. */
const SUSPICIOUS_PATH = /(?:^|\/)\.{1,2}(?:\/|$)|%2e|%2f|%5c|\\/i;

function inFamily(path: string, prefix: string): boolean {
  return (path === prefix || path.startsWith(`${prefix}/`)) && !SUSPICIOUS_PATH.test(path);
}

export function routeCredential(method: string, path: string): RouteCredential {
  const reading = method === 'GET' || method === 'HEAD';
  if (reading && OPEN_GET.has(path)) {
    return 'open';
  }
  if (path === '/metrics') {
    return 'metrics';
  }
  if (SESSION_PREFIXES.some((prefix) => inFamily(path, prefix))) {
    return 'open';
  }
  if (inFamily(path, WEBHOOK_PREFIX)) {
    return 'webhook';
  }
  if (path.startsWith(CDS_PREFIX) && !SUSPICIOUS_PATH.test(path)) {
    return 'cds';
  }
  return 'bearer';
}

/** Liveness, readiness and metrics are polled by machines on a schedule: never rate limited. */
export function isProbe(path: string): boolean {
  return path === '/healthz' || path === '/readyz' || path === '/metrics';
}
