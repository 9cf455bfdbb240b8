import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { extname, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';
import { type Request, type RequestHandler, type Response, Router } from 'express';
import type { Logger } from 'pino';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** Content-hashed URLs are immutable: a year, the longest HTTP caches are asked to keep anything. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Without the current hash (an old page, a hand-typed URL): kept, but checked again (ETag) each time. */
const REVALIDATE = 'public, no-cache';
/** Not worth compressing (images already are; tiny files gain nothing). */
const COMPRESSIBLE = new Set(['.js', '.css', '.html', '.json', '.md', '.svg']);
const MIN_COMPRESS_BYTES = 1024;

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

interface Asset {
  readonly body: Buffer;
  /** sha256 of the file, hex, first 16: the `v` of its hashed URL and its ETag. */
  readonly hash: string;
  readonly type: string;
  brotli?: Promise<Buffer> | undefined;
  gzip?: Promise<Buffer> | undefined;
}

/**
 * The SMART app's static files (`public/smart`: the page scripts, styles and the vendored
 * LHC-Forms, 3.3 MB uncompressed) under `/smart/assets/`:
 * - compressed with brotli or gzip (by Accept-Encoding; node:zlib, done once per file and kept
 *   in memory, started when the router is built so the first launch does not wait for it);
 *   the vendored files stay byte for byte as published (no `.br`/`.gz` beside them);
 * - `assetUrl(path)` gives the page its content-hashed URL (`…/main.js?v=<sha256>`), served
 *   `immutable` for a year: a new version of a file is a new URL, so a warm launch fetches
 *   nothing; any other URL of the file is served `no-cache` with an ETag (a 304 when unchanged).
 * Files are read at start-up: the folder is part of the release, never written at run time.
 */
export interface SmartAssets {
  readonly router: Router;
  /** `/smart/assets/<path>?v=<hash>` for a file in the folder; the plain URL for one that is not there. */
  assetUrl(path: string): string;
}

export function smartAssets(options: { readonly dir: string; readonly logger: Logger }): SmartAssets {
  const root = resolve(options.dir);
  const assets = new Map<string, Asset>();
  const load = (path: string): Asset | undefined => {
    const cached = assets.get(path);
    if (cached) {
      return cached;
    }
    const file = resolve(root, path);
    // Inside the folder only, and files only (no dot-files, no folders).
    if (
      !file.startsWith(root + sep) ||
      relative(root, file)
        .split(sep)
        .some((part) => part.startsWith('.'))
    ) {
      return undefined;
    }
    try {
      if (!statSync(file).isFile()) {
        return undefined;
      }
      const body = readFileSync(file);
      const asset: Asset = {
        body,
        hash: createHash('sha256').update(body).digest('hex').slice(0, 16),
        type: TYPES[extname(file)] ?? 'application/octet-stream',
      };
      assets.set(path, asset);
      return asset;
    } catch {
      return undefined;
    }
  };
  const compressible = (path: string, asset: Asset): boolean => COMPRESSIBLE.has(extname(path)) && asset.body.length >= MIN_COMPRESS_BYTES;
  const brotliOf = (asset: Asset): Promise<Buffer> =>
    (asset.brotli ??= brotli(asset.body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: asset.body.length } }));
  const gzipOf = (asset: Asset): Promise<Buffer> => (asset.gzip ??= gzipAsync(asset.body, { level: 9 }));

  // Compressed ahead of the first launch (in the background; a request before it finishes waits for the same work).
  for (const path of ['lforms/main.js', 'lforms/lformsFHIR.min.js', 'lforms/styles.css', 'lforms/zone.min.js', 'app.js', 'smart.css']) {
    const asset = load(path);
    if (asset && compressible(path, asset)) {
      brotliOf(asset).catch((err: unknown) => options.logger.warn({ path, err: err instanceof Error ? err.message : 'unknown' }, 'SMART asset not compressed'));
    }
  }

  const serve: RequestHandler = async (req: Request, res: Response) => {
    const segments = (req.params as { path?: string[] | string }).path;
    const path = Array.isArray(segments) ? segments.join('/') : (segments ?? '');
    const asset = path === '' ? undefined : load(path);
    if (!asset) {
      res.status(404).type('text/plain').send('Not found');
      return;
    }
    res.setHeader('Content-Type', asset.type);
    res.setHeader('ETag', `"${asset.hash}"`);
    res.setHeader('Cache-Control', req.query.v === asset.hash ? IMMUTABLE : REVALIDATE);
    res.setHeader('Vary', 'Accept-Encoding');
    if (req.get('if-none-match')?.includes(`"${asset.hash}"`)) {
      res.status(304).end();
      return;
    }
    let body = asset.body;
    if (compressible(path, asset)) {
      const accepted = acceptedEncodings(req.get('accept-encoding'));
      if (accepted.has('br')) {
        body = await brotliOf(asset);
        res.setHeader('Content-Encoding', 'br');
      } else if (accepted.has('gzip')) {
        body = await gzipOf(asset);
        res.setHeader('Content-Encoding', 'gzip');
      }
    }
    res.setHeader('Content-Length', String(body.length));
    res.status(200).end(req.method === 'HEAD' ? undefined : body);
  };

  const router = Router();
  router.get('/smart/assets/*path', serve);
  return {
    router,
    assetUrl(path) {
      const asset = load(path);
      return asset ? `/smart/assets/${path}?v=${asset.hash}` : `/smart/assets/${path}`;
    },
  };
}

/** Encodings an Accept-Encoding header allows (`q=0` refuses one). */
function acceptedEncodings(header: string | undefined): Set<string> {
  const accepted = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name !== '' && (q === undefined || Number(q.slice(2)) > 0)) {
      accepted.add(name);
    }
  }
  return accepted;
}
