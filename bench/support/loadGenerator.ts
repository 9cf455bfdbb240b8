import autocannon from 'autocannon';

/** One thing to drive: a URL and path, and the body of request number i. */
export interface LoadTarget {
  readonly name: string;
  readonly url: string;
  readonly path: string;
  readonly body: (i: number) => string;
}

export interface RoundResult {
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

/**
 * Drives a target with autocannon, in this process (one event loop: the load generator takes
 * one of the two cores' worth of time slices, as it did for the issue's reference figures).
 * The body of every request comes from `target.body(i)` with a counter shared across rounds,
 * so a persisting target never sees the same response twice unless it is meant to.
 */
export async function drive(target: LoadTarget, options: { seconds: number; connections: number; counter: { next: number } }): Promise<RoundResult> {
  const result = await autocannon({
    url: target.url,
    connections: options.connections,
    pipelining: 1,
    duration: options.seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: target.path,
        headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
        setupRequest: (request) => ({ ...request, body: target.body(options.counter.next++) }),
      },
    ],
  });
  const ok = result['2xx'];
  const seconds = result.duration;
  return {
    requests: ok,
    seconds,
    perSecond: seconds > 0 ? ok / seconds : 0,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) {
    return Number.NaN;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
