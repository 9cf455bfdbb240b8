import cors from 'cors';
import type { RequestHandler } from 'express';

/**
 * Browsers may call the API only from CORS_ORIGINS. Credentials (cookies) are never
 * allowed cross-origin: browser apps send bearer tokens, and the cookie-session pages are
 * same-origin. Preflights are answered here, before authentication, since browsers send
 * them without the Authorization header. With no origins configured nothing is mounted
 * and no answer carries CORS headers.
 */
export function corsPolicy(origins: readonly string[]): RequestHandler[] {
  if (origins.length === 0) {
    return [];
  }
  const allowed = new Set(origins.map((o) => o.replace(/\/+$/, '')));
  return [
    cors({
      origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Accept', 'Prefer', 'If-Match', 'If-None-Match', 'If-None-Exist', 'X-Request-Id'],
      exposedHeaders: ['Location', 'Content-Location', 'ETag', 'Last-Modified', 'Retry-After', 'WWW-Authenticate', 'X-Request-Id'],
      credentials: false,
      maxAge: 600,
    }),
  ];
}
