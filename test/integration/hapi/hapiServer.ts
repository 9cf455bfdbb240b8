import type { Bundle, Resource } from '@medplum/fhirtypes';

/**
 * The HAPI FHIR server the integration suite runs against (test/servers/hapi/start, started by
 * test/integration/run-hapi). HAPI_BASE_URL names it; without it the suite fails at once rather
 * than pass having tested nothing. HAPI_PID, when given, lets the outage test freeze it.
 */
export function hapiBaseUrl(): string {
  const base = process.env.HAPI_BASE_URL?.trim().replace(/\/+$/, '');
  if (!base) {
    throw new Error('HAPI_BASE_URL is not set: start test/servers/hapi/start and run this suite through test/integration/run-hapi.');
  }
  return base;
}

/** What a plain client (a kiosk, the test itself) sends and gets: no service code in between. */
export async function hapi<T = Resource>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${hapiBaseUrl()}/${path.replace(/^\//, '')}`, {
    method,
    headers: {
      Accept: 'application/fhir+json',
      'Cache-Control': 'no-cache',
      ...(body === undefined ? {} : { 'Content-Type': 'application/fhir+json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Every match of a search on HAPI, its pages followed. */
export async function searchAll<T extends Resource>(path: string): Promise<T[]> {
  const found: T[] = [];
  let next: string | undefined = `${hapiBaseUrl()}/${path}`;
  for (let page = 0; next && page < 100; page++) {
    const res = await fetch(next, { headers: { Accept: 'application/fhir+json', 'Cache-Control': 'no-cache' }, signal: AbortSignal.timeout(30_000) });
    const bundle = (await res.json()) as Bundle<T>;
    found.push(...(bundle.entry ?? []).filter((e) => e.search?.mode !== 'include').flatMap((e) => (e.resource ? [e.resource] : [])));
    next = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return found;
}

/** Polls until `check` returns something (bounded): HAPI delivers subscriptions and reindexes in the background. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** A Patient at a client-assigned id (HAPI enforces referential integrity: results need their subject). */
export async function createPatient(id: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await hapi('PUT', `Patient/${id}`, { resourceType: 'Patient', id, name: [{ family: 'Integration-Example', given: [id] }], ...extra });
  if (res.status >= 300) {
    throw new Error(`could not store Patient/${id}: HTTP ${res.status}`);
  }
  return `Patient/${id}`;
}
