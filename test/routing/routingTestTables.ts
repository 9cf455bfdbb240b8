import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Loose on purpose: tests reach into the table and write malformed values through it. */
// Routing tables in tests are edited freely, field by field, like the JSON files they stand for.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RoutingJson = Record<string, any>;

/** A fresh, mutable copy of the shipped config/routing.json for a test to alter. */
export function routingJson(): RoutingJson {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'routing.json'), 'utf8')) as RoutingJson;
}
