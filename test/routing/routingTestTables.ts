import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Loose on purpose: tests reach into the table and write malformed values through it. */
export type RoutingJson = Record<string, any>;

/** A fresh, mutable copy of the shipped config/routing.json for a test to alter. */
export function routingJson(): RoutingJson {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'routing.json'), 'utf8')) as RoutingJson;
}
