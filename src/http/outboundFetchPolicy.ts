import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { type ClientRequest, type IncomingMessage, request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses no caller-chosen URL may reach unless OUTBOUND_ALLOWED_NETWORKS lets it:
 * loopback, private (RFC 1918, unique-local), link-local (cloud metadata at
 * 169.254.169.254 included), carrier-grade NAT, "this network", multicast, reserved and
 * documentation ranges, and the IPv6 forms that embed an IPv4 address (mapped, NAT64,
 * 6to4), which could name any of the former.
 */
const FORBIDDEN_V4: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const FORBIDDEN_V6: readonly [string, number][] = [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
];

/** Why a fetch was refused before or instead of leaving; the message is safe to log (no patient data). */
export class OutboundRefusedError extends Error {
  constructor(
    readonly reason: 'not-allowed' | 'private-address' | 'redirect' | 'too-large' | 'not-json',
    message: string
  ) {
    super(message);
    this.name = 'OutboundRefusedError';
  }
}

export interface OutboundPolicyOptions {
  /** OUTBOUND_ALLOWED_NETWORKS: CIDR blocks reachable even though private or loopback. */
  readonly allowedNetworks: readonly string[];
  /** Name resolution; `dns.lookup` unless a test gives its own (a name resolving to chosen addresses). */
  readonly lookup?: ((hostname: string, callback: (err: Error | null, addresses: LookupAddress[]) => void) => void) | undefined;
  /** Largest answer body read; past it the fetch is refused. */
  readonly maxBytes?: number | undefined;
}

export interface OutboundAnswer {
  readonly status: number;
  readonly body: unknown;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;

/**
 * Whether `url` lies under one of `bases`: the same origin (scheme, host and port, as the
 * URL parser normalises them), and a path equal to the base's or continuing it after a
 * `/`. A raw string prefix would let `https://ehr.example.org/fhir` admit
 * `https://ehr.example.org/fhir-admin` or `https://ehr.example.org.evil.test/fhir`. The URL
 * is parsed first, so `..` and `%2e%2e` segments are already resolved, and a URL with
 * credentials is never under any base.
 */
export function isUnderBase(url: URL, base: string): boolean {
  let allowed: URL;
  try {
    allowed = new URL(base);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '' || url.origin !== allowed.origin) {
    return false;
  }
  const basePath = allowed.pathname.replace(/\/+$/, '');
  return url.pathname === basePath || url.pathname === `${basePath}/` || url.pathname.startsWith(`${basePath}/`);
}

/**
 * The policy every fetch of a caller-chosen URL goes through (today: the CDS Hooks
 * `fhirServer` fallback search):
 * - the URL must be under an allowed base (the caller checks that with `isUnderBase`,
 *   since which bases apply depends on who is asking);
 * - every address the host resolves to must be public, or inside OUTBOUND_ALLOWED_NETWORKS;
 *   the check runs in the socket's own name lookup, so the address connected to is the
 *   address checked (no second resolution for DNS rebinding to slip between);
 * - redirects are never followed: a 3xx is a refusal;
 * - the answer is read up to `maxBytes` and must be JSON.
 */
export class OutboundFetchPolicy {
  private readonly allowed = new BlockList();
  // One list per family: a BlockList matches IPv4 addresses against IPv4-mapped IPv6 rules,
  // so ::ffff:0:0/96 in a shared list would forbid every IPv4 address.
  private readonly forbidden = { ipv4: new BlockList(), ipv6: new BlockList() };
  private readonly resolve: NonNullable<OutboundPolicyOptions['lookup']>;
  private readonly maxBytes: number;

  constructor(options: OutboundPolicyOptions) {
    for (const [address, bits] of FORBIDDEN_V4) {
      this.forbidden.ipv4.addSubnet(address, bits, 'ipv4');
    }
    for (const [address, bits] of FORBIDDEN_V6) {
      this.forbidden.ipv6.addSubnet(address, bits, 'ipv6');
    }
    for (const network of options.allowedNetworks) {
      const slash = network.lastIndexOf('/');
      const address = network.slice(0, slash);
      this.allowed.addSubnet(address, Number(network.slice(slash + 1)), isIP(address) === 6 ? 'ipv6' : 'ipv4');
    }
    this.resolve = options.lookup ?? ((hostname, callback) => dnsLookup(hostname, { all: true, verbatim: true }, callback));
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  /** True when an address may be connected to. */
  mayReach(address: string): boolean {
    const family = isIP(address);
    if (family === 0) {
      return false;
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    return this.allowed.check(address, type) || !this.forbidden[type].check(address, type);
  }

  /** GET `url` as JSON under the policy; throws OutboundRefusedError for a refusal, other errors for failures. */
  async getJson(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<OutboundAnswer> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new OutboundRefusedError('not-allowed', 'Only http(s) URLs are fetched.');
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    // An address literal is connected to without a lookup, so it is checked here.
    if (isIP(host) !== 0 && !this.mayReach(host)) {
      throw new OutboundRefusedError('private-address', 'The URL names a private, loopback or link-local address.');
    }
    // No pooled connection: each fetch opens its own, so each passes the lookup check.
    const options: RequestOptions = { method: 'GET', headers, signal, lookup: this.checkedLookup(), agent: false };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      const req: ClientRequest = send(url, options, resolve);
      req.on('error', reject);
      req.end();
    });
    if (answer.statusCode !== undefined && answer.statusCode >= 300 && answer.statusCode < 400) {
      answer.destroy();
      throw new OutboundRefusedError('redirect', 'The server answered with a redirect, which is not followed.');
    }
    const text = await this.readBody(answer);
    try {
      return { status: answer.statusCode ?? 0, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
    } catch {
      throw new OutboundRefusedError('not-json', 'The answer is not JSON.');
    }
  }

  /** The socket's name lookup: every address the name resolves to must be reachable, or none is used. */
  private checkedLookup(): LookupFunction {
    return (hostname, options, callback) => {
      this.resolve(hostname, (err, addresses) => {
        if (err) {
          callback(err, '', 4);
          return;
        }
        const wanted = addresses.filter((a) => !options.family || a.family === options.family);
        if (wanted.length === 0 || addresses.some((a) => !this.mayReach(a.address))) {
          const refused = new OutboundRefusedError('private-address', 'The host resolves to a private, loopback or link-local address.');
          callback(refused as NodeJS.ErrnoException, '', 4);
          return;
        }
        if (options.all) {
          (callback as unknown as (err: null, addresses: LookupAddress[]) => void)(null, wanted);
          return;
        }
        const [first] = wanted;
        callback(null, first?.address ?? '', first?.family ?? 4);
      });
    };
  }

  private readBody(answer: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      answer.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.maxBytes) {
          answer.destroy();
          reject(new OutboundRefusedError('too-large', `The answer is larger than ${this.maxBytes} bytes.`));
          return;
        }
        chunks.push(chunk);
      });
      answer.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      answer.on('error', reject);
    });
  }
}
