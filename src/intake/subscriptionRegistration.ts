import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { PublishedResource } from '../content/publishContent';
import type { FhirServerConnection } from '../fhir/remote/fhirServerConnection';
import { canonicalJson } from '../triage/results/idempotencyKey';

/** Where the Subscription templates live: beside the content, in a folder the content loader does not read. */
export const TEMPLATE_FOLDER = join('fhir-resources', 'templates');

export interface SubscriptionValues {
  /** PUBLIC_BASE_URL: where the FHIR server reaches this service (the receiver's base). */
  readonly publicBaseUrl: string;
  /** WEBHOOK_SECRET, sent back by the server in `channel.header`. */
  readonly webhookSecret: string;
}

/** The shipped templates (`fhir-resources/templates/Subscription-*.json`), placeholders unfilled. */
export function readSubscriptionTemplates(contentRoot: string): Subscription[] {
  const folder = join(contentRoot, TEMPLATE_FOLDER);
  return readdirSync(folder)
    .filter((name) => name.startsWith('Subscription-') && name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(folder, name), 'utf8')) as Subscription);
}

const PLACEHOLDER = /\{\{([A-Z_]+)\}\}/g;

/**
 * A template with `{{PUBLIC_BASE_URL}}` and `{{WEBHOOK_SECRET}}` filled in every string.
 * A placeholder left unknown is an error: a Subscription must never be registered with one.
 */
export function fillSubscriptionTemplate(template: Subscription, values: SubscriptionValues): Subscription {
  const known: Readonly<Record<string, string>> = { PUBLIC_BASE_URL: values.publicBaseUrl.replace(/\/+$/, ''), WEBHOOK_SECRET: values.webhookSecret };
  const fill = (value: unknown): unknown => {
    if (typeof value === 'string') {
      return value.replace(PLACEHOLDER, (_match, name: string) => {
        const replacement = known[name];
        if (replacement === undefined) {
          throw new Error(`Subscription template ${template.id ?? ''} has an unknown placeholder {{${name}}}`);
        }
        return replacement;
      });
    }
    if (Array.isArray(value)) {
      return value.map(fill);
    }
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]));
    }
    return value;
  };
  return fill(template) as Subscription;
}

/** How a Subscription is found again on a server: its criteria and its endpoint. */
export function subscriptionKey(subscription: Subscription): string {
  return `criteria ${subscription.criteria} -> ${subscription.channel.endpoint ?? ''}`;
}

/**
 * Registers each Subscription idempotently, keyed on criteria and endpoint (servers assign
 * the ids): searched by `url` (the channel endpoint) and matched on `criteria`. A match with
 * the same content that is running (`requested` or `active`) is left alone; one that differs
 * (a new secret, say) or that the server switched `off` or to `error` is updated, which puts
 * it back to `requested`. Progress lines name the criteria and endpoint, never the header.
 */
export async function registerSubscriptions(
  connection: FhirServerConnection,
  subscriptions: readonly Subscription[],
  onProgress: (line: string) => void = () => undefined
): Promise<PublishedResource[]> {
  const published: PublishedResource[] = [];
  for (const subscription of subscriptions) {
    const key = subscriptionKey(subscription);
    const { id: _id, meta: _meta, ...wanted } = subscription;
    const found = await connection.search<Subscription>('Subscription', { url: subscription.channel.endpoint ?? '' });
    const existing = (found.entry ?? [])
      .map((e) => e.resource)
      .find((r): r is Subscription & { id: string } => r?.resourceType === 'Subscription' && r.criteria === subscription.criteria && r.id !== undefined);
    let result: PublishedResource;
    if (!existing) {
      const created = await connection.create<Subscription>(wanted as Subscription);
      result = { action: 'created', key, stored: reference(created) };
    } else if (sameSubscription(existing, subscription) && (existing.status === 'active' || existing.status === 'requested')) {
      result = { action: 'unchanged', key, stored: reference(existing) };
    } else {
      const updated = await connection.update<Subscription>({ ...(wanted as Subscription), id: existing.id });
      result = { action: 'updated', key, stored: reference(updated) };
    }
    published.push(result);
    onProgress(`${result.action.padEnd(9)} Subscription ${key} -> ${result.stored}`);
  }
  return published;
}

/** Content as configured: without what the server owns (id, meta, narrative, status, error). */
function sameSubscription(a: Subscription, b: Subscription): boolean {
  const strip = ({ id: _id, meta: _meta, text: _text, status: _status, error: _error, ...rest }: Subscription) => rest;
  return canonicalJson(strip(a)) === canonicalJson(strip(b));
}

function reference(resource: Resource): string {
  return `${resource.resourceType}/${resource.id ?? ''}`;
}

/**
 * push-content's Subscriptions: the shipped templates filled from PUBLIC_BASE_URL and
 * WEBHOOK_SECRET. Without both, none are registered (a line on stdout says why): a
 * Subscription without the secret would only be refused by the receiver.
 */
export async function registerShippedSubscriptions(options: {
  readonly connection: FhirServerConnection;
  readonly contentRoot: string;
  readonly env: NodeJS.ProcessEnv;
  readonly onProgress: (line: string) => void;
}): Promise<PublishedResource[]> {
  const publicBaseUrl = options.env.PUBLIC_BASE_URL?.trim();
  const webhookSecret = options.env.WEBHOOK_SECRET?.trim();
  const templates = readSubscriptionTemplates(options.contentRoot);
  if (!publicBaseUrl || !webhookSecret) {
    for (const template of templates) {
      options.onProgress(`skipped   Subscription ${template.criteria}: set PUBLIC_BASE_URL and WEBHOOK_SECRET to register it`);
    }
    return [];
  }
  if (!/^https?:\/\/[^/]/.test(publicBaseUrl)) {
    throw new Error(`PUBLIC_BASE_URL must be an http(s) URL (got '${publicBaseUrl}')`);
  }
  const filled = templates.map((template) => fillSubscriptionTemplate(template, { publicBaseUrl, webhookSecret }));
  return registerSubscriptions(options.connection, filled, options.onProgress);
}
