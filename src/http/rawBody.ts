import type { IncomingMessage } from 'node:http';

const rawBodies = new WeakMap<IncomingMessage, Buffer>();

/**
 * body-parser's `verify` hook: keeps the bytes a JSON body was parsed from, for routes that
 * must check a signature over exactly those bytes (the Subscription receiver's HMAC).
 * A reference to the buffer body-parser already read; nothing is copied.
 */
export function keepRawBody(req: IncomingMessage, _res: unknown, buffer: Buffer): void {
  rawBodies.set(req, buffer);
}

/** The raw bytes of a body parsed as JSON, if any. */
export function rawBodyOf(req: IncomingMessage): Buffer | undefined {
  return rawBodies.get(req);
}
