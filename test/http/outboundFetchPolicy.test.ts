import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { isUnderBase, OutboundFetchPolicy, OutboundRefusedError } from '../../src/http/outboundFetchPolicy';

describe('isUnderBase: origin plus whole path segments, never a raw string prefix', () => {
  const base = 'https://ehr.example.org/fhir/R4';
  const cases: [url: string, under: boolean][] = [
    ['https://ehr.example.org/fhir/R4', true],
    ['https://ehr.example.org/fhir/R4/', true],
    ['https://ehr.example.org/fhir/R4/RiskAssessment?subject=Patient/1', true],
    ['https://EHR.example.org:443/fhir/R4/Patient', true],
    ['https://ehr.example.org/fhir/R4-admin/Patient', false],
    ['https://ehr.example.org/fhir/R4/../R5/Patient', false],
    ['https://ehr.example.org/fhir/R4/%2e%2e/admin', false],
    ['https://ehr.example.org/fhir', false],
    ['http://ehr.example.org/fhir/R4/Patient', false],
    ['https://ehr.example.org:8443/fhir/R4/Patient', false],
    ['https://ehr.example.org.evil.test/fhir/R4/Patient', false],
    ['https://evil.test/ehr.example.org/fhir/R4', false],
    ['https://user:pw@ehr.example.org/fhir/R4/Patient', false],
  ];
  it.each(cases)('%s → %s', (url, under) => {
    expect(isUnderBase(new URL(url), base)).toBe(under);
  });

  it('a base at the root admits the whole origin', () => {
    expect(isUnderBase(new URL('https://ehr.example.org/anything'), 'https://ehr.example.org')).toBe(true);
    expect(isUnderBase(new URL('https://ehr.example.org/anything'), 'https://ehr.example.org/')).toBe(true);
  });
});

describe('which addresses may be reached', () => {
  const policy = new OutboundFetchPolicy({ allowedNetworks: ['10.1.2.0/24', 'fd00:1::/32'] });
  const cases: [address: string, reachable: boolean][] = [
    ['93.184.216.34', true],
    ['2606:2800:220:1:248:1893:25c8:1946', true],
    ['127.0.0.1', false],
    ['127.255.0.9', false],
    ['0.0.0.0', false],
    ['10.0.0.1', false],
    ['10.1.2.3', true], // inside OUTBOUND_ALLOWED_NETWORKS
    ['172.16.5.5', false],
    ['172.32.0.1', true],
    ['192.168.1.1', false],
    ['169.254.169.254', false], // cloud metadata
    ['100.64.0.1', false],
    ['224.0.0.1', false],
    ['::1', false],
    ['::', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['fe80::1', false],
    ['fc00::1', false],
    ['fd00:1::5', true], // inside OUTBOUND_ALLOWED_NETWORKS
    ['fd00:2::5', false],
    ['64:ff9b::a00:1', false],
    ['2002:a00:1::1', false],
    ['not-an-address', false],
  ];
  it.each(cases)('%s → %s', (address, reachable) => {
    expect(policy.mayReach(address)).toBe(reachable);
  });
});

describe('getJson', () => {
  let port: number;
  let seen = 0;
  const server = createServer((_req, res) => {
    seen++;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ resourceType: 'Bundle', filler: 'x'.repeat(2000) }));
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** A name that resolves to the given addresses, so "every address" can be tested without DNS. */
  const resolvingTo =
    (addresses: LookupAddress[]) =>
    (_hostname: string, callback: (err: Error | null, found: LookupAddress[]) => void): void =>
      callback(null, addresses);
  const signal = () => AbortSignal.timeout(2000);

  it('connects when every address the name resolves to is allowed', async () => {
    const policy = new OutboundFetchPolicy({ allowedNetworks: ['127.0.0.1/32'], lookup: resolvingTo([{ address: '127.0.0.1', family: 4 }]) });
    const answer = await policy.getJson(new URL(`http://ehr.test:${port}/fhir`), {}, signal());
    expect(answer.status).toBe(200);
    expect((answer.body as { resourceType: string }).resourceType).toBe('Bundle');
  });

  it('refuses a name with one forbidden address among allowed ones, before connecting', async () => {
    const before = seen;
    const policy = new OutboundFetchPolicy({
      allowedNetworks: ['127.0.0.1/32'],
      lookup: resolvingTo([
        { address: '127.0.0.1', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ]),
    });
    await expect(policy.getJson(new URL(`http://ehr.test:${port}/fhir`), {}, signal())).rejects.toMatchObject({ reason: 'private-address' });
    expect(seen).toBe(before);
  });

  it('refuses a loopback literal unless allowed, before connecting', async () => {
    const before = seen;
    const policy = new OutboundFetchPolicy({ allowedNetworks: [] });
    await expect(policy.getJson(new URL(`http://127.0.0.1:${port}/fhir`), {}, signal())).rejects.toBeInstanceOf(OutboundRefusedError);
    await expect(policy.getJson(new URL(`http://localhost:${port}/fhir`), {}, signal())).rejects.toMatchObject({ reason: 'private-address' });
    expect(seen).toBe(before);
  });

  it('refuses an answer larger than maxBytes', async () => {
    const policy = new OutboundFetchPolicy({ allowedNetworks: ['127.0.0.1/32'], maxBytes: 1000 });
    await expect(policy.getJson(new URL(`http://127.0.0.1:${port}/fhir`), {}, signal())).rejects.toMatchObject({ reason: 'too-large' });
  });
});
