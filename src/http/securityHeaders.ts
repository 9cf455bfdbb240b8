import type { RequestHandler, Response } from 'express';
import helmet from 'helmet';

/**
 * The policy for everything that is not a page: JSON answers never load, run or frame
 * anything, so nothing is allowed.
 */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * helmet's headers (HSTS, nosniff, frame and referrer policies, cross-origin policies),
 * except its Content-Security-Policy: the SMART app and the staff queue are pages with
 * policies of their own, set by their routers. The API policy is added only to answers
 * whose route set none, at the moment the headers are written, so it can never replace
 * or duplicate a page's.
 */
export function securityHeaders(): RequestHandler[] {
  return [helmet({ contentSecurityPolicy: false }), defaultContentSecurityPolicy(API_CONTENT_SECURITY_POLICY)];
}

function defaultContentSecurityPolicy(policy: string): RequestHandler {
  return (_req, res, next) => {
    const writeHead = res.writeHead;
    // Every answer passes through writeHead (res.end calls it implicitly), after the route's own headers are set.
    res.writeHead = function writeHeadWithPolicy(this: Response, ...args: unknown[]) {
      if (!this.hasHeader('Content-Security-Policy')) {
        this.setHeader('Content-Security-Policy', policy);
      }
      return (writeHead as (...a: unknown[]) => Response).apply(this, args);
    } as Response['writeHead'];
    next();
  };
}
