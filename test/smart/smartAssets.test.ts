import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { ROOT } from '../support/responses';
import { type RunningService, startService } from './smartTestbed';

/**
 * Issue 16: the app's static files compressed (brotli, gzip) and cached (content-hashed URLs,
 * immutable), over real HTTP (raw bytes: node:http, which does not decompress), and their
 * requests counted under a route pattern in /metrics, not as `unmatched`.
 */
jest.setTimeout(60_000);

const ASSETS = join(ROOT, 'public', 'smart');

let running: RunningService;

beforeAll(async () => {
  running = await startService();
});

afterAll(async () => {
  await running?.close();
});

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

function raw(path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    get(`${running.base}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** The hashed URL the pages use for a file, as smartAssets gives it (taken from the version it answers with). */
async function hashedUrl(path: string): Promise<string> {
  const plain = await raw(`/smart/assets/${path}`, { 'Accept-Encoding': 'identity' });
  return `/smart/assets/${path}?v=${String(plain.headers.etag).replace(/"/g, '')}`;
}

describe('the SMART app static files', () => {
  const main = readFileSync(join(ASSETS, 'lforms', 'main.js'));

  it('brotli for a browser that takes it: the same bytes, far fewer, immutable under the hashed URL', async () => {
    const url = await hashedUrl('lforms/main.js');
    const answer = await raw(url, { 'Accept-Encoding': 'gzip, deflate, br' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBe('br');
    expect(answer.headers['vary']).toContain('Accept-Encoding');
    expect(answer.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(answer.headers['content-type']).toMatch(/^text\/javascript/);
    expect(brotliDecompressSync(answer.body).equals(main)).toBe(true);
    expect(answer.body.length).toBeLessThan(main.length / 3);
  });

  it('gzip when brotli is not accepted; none for identity; images as they are', async () => {
    const url = await hashedUrl('lforms/lformsFHIR.min.js');
    const file = readFileSync(join(ASSETS, 'lforms', 'lformsFHIR.min.js'));
    const gzipped = await raw(url, { 'Accept-Encoding': 'gzip, br;q=0' });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzipped.body).equals(file)).toBe(true);
    const plain = await raw(url, { 'Accept-Encoding': 'identity' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.equals(file)).toBe(true);
    const image = await raw('/smart/assets/lforms/magnifying_glass.png', { 'Accept-Encoding': 'br' });
    expect(image.headers['content-encoding']).toBeUndefined();
    expect(image.headers['content-type']).toBe('image/png');
  });

  it('without the current hash: no-cache, and a 304 for the ETag the browser holds', async () => {
    const plain = await raw('/smart/assets/app.js');
    expect(plain.headers['cache-control']).toBe('public, no-cache');
    const stale = await raw('/smart/assets/app.js?v=0000000000000000');
    expect(stale.headers['cache-control']).toBe('public, no-cache');
    const again = await raw('/smart/assets/app.js', { 'If-None-Match': String(plain.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it('nothing outside the folder, no dot-files, no folders', async () => {
    for (const path of [
      '/smart/assets/..%2F..%2Fpackage.json',
      '/smart/assets/%2E%2E/%2E%2E/package.json',
      '/smart/assets/lforms',
      '/smart/assets/.hidden',
      '/smart/assets/missing.js',
    ]) {
      expect((await raw(path)).status).toBe(404);
    }
  });

  it('requests are counted as /smart/assets/*path in /metrics, never unmatched', async () => {
    const before = await (await fetch(`${running.base}/metrics`)).text();
    const unmatchedBefore =
      /route="unmatched"[^\n]*\} (\d+)/.exec(
        before.split('\n').find((l) => l.startsWith('http_requests_total') && l.includes('route="unmatched"')) ?? ''
      )?.[1] ?? '0';
    await raw('/smart/assets/smart.css');
    await raw('/smart/assets/nothing-here.css');
    const metrics = await (await fetch(`${running.base}/metrics`)).text();
    const lines = metrics.split('\n').filter((l) => l.includes('/smart/assets/'));
    expect(lines.some((l) => l.includes('route="/smart/assets/*path"') && l.includes('status="200"'))).toBe(true);
    expect(lines.some((l) => l.includes('route="/smart/assets/*path"') && l.includes('status="404"'))).toBe(true);
    const unmatchedAfter =
      /\} (\d+)/.exec(metrics.split('\n').find((l) => l.startsWith('http_requests_total') && l.includes('route="unmatched"')) ?? '')?.[1] ?? '0';
    expect(unmatchedAfter).toBe(unmatchedBefore);
  });

  it('without SMART_FRAME_ANCESTORS every /smart answer refuses framing, and X-Frame-Options agrees', async () => {
    for (const path of ['/smart/launch', '/smart/app', '/smart/assets/app.js']) {
      const answer = await raw(path);
      expect(answer.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(answer.headers['x-frame-options']).toBe('DENY');
    }
  });
});
