import { createHash, randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { JOURNAL_FILE } from '../../src/fhir/embedded/journal';
import { decodeRecord, encodeRecord } from '../../src/fhir/embedded/journalRecord';
import { openTriageBench } from './triageBench';

/**
 * Writes `DATA_DIR/journal.ndjson` holding `records` triage write-backs, as the embedded store
 * itself would have journaled them, in seconds instead of the many minutes real transactions
 * take (each one validates every resource it creates; see BENCHMARKS.md).
 *
 * How: the 31 rule fixtures are triaged for real into a scratch DATA_DIR (the real
 * transaction path); their 31 journal records are the templates. Record i is template
 * i mod 31 with every resource id replaced by a fresh UUID and the idempotency key by a fresh
 * 64-hex key, consistently within the record, so references still resolve and every triage is
 * distinct to the search index. The service Device (created once, by the first record) is kept
 * once and referenced by all. Each record goes through the store's own `encodeRecord`.
 */
export async function writeSyntheticJournal(dataDir: string, records: number): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  const templates = await realTemplates();
  const fd = openSync(join(dataDir, JOURNAL_FILE), 'w', 0o600);
  let bytes = 0;
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for (let i = 0; i < records; i++) {
      const template = templates[i % templates.length];
      if (!template) {
        throw new Error('no templates');
      }
      const fresh = new Map<string, string>();
      const ops = i === 0 ? template.firstOps : template.ops;
      const text = ops.replace(template.pattern, (found) => {
        let replacement = fresh.get(found);
        if (!replacement) {
          replacement = found.length === 64 ? createHash('sha256').update(`synthetic-${i}`).digest('hex') : randomUUID();
          fresh.set(found, replacement);
        }
        return replacement;
      });
      // The store's own encoder for the first record; the rest are framed the same way without
      // a JSON round trip each (the check below proves the framing identical).
      const line = i === 0 ? encodeRecord(JSON.parse(text)) : frame(text);
      if (i === 1 && !line.equals(encodeRecord(JSON.parse(text)))) {
        throw new Error('journal record framing differs from encodeRecord: update syntheticJournal.ts');
      }
      pending.push(line);
      pendingBytes += line.length;
      if (pendingBytes >= 8 << 20) {
        bytes += writeAll(fd, Buffer.concat(pending));
        pending = [];
        pendingBytes = 0;
      }
    }
    bytes += writeAll(fd, Buffer.concat(pending));
  } finally {
    closeSync(fd);
  }
  return { bytes, ms: Math.round(performance.now() - started) };
}

interface Template {
  /** The record's ops (JSON) without the Device put. */
  readonly ops: string;
  /** With it: only the very first synthetic record creates the Device. */
  readonly firstOps: string;
  /** Matches the record's resource ids and its idempotency key. */
  readonly pattern: RegExp;
}

async function realTemplates(): Promise<Template[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'hip-triage-bench-templates-'));
  try {
    const bench = await openTriageBench(scratch);
    try {
      for (let i = 0; i < bench.fixtures.length; i++) {
        await bench.writeBack(i);
      }
    } finally {
      await bench.close();
    }
    const lines = readFileSync(join(scratch, JOURNAL_FILE)).toString('utf8').split('\n').filter((l) => l !== '');
    const deviceOps: unknown[] = [];
    const parsed = lines.map((line) => {
      const decoded = decodeRecord(Buffer.from(line, 'utf8'));
      if (!decoded.ok) {
        throw new Error('the scratch journal has a damaged record');
      }
      return decoded.changes;
    });
    return parsed.map((changes, index) => {
      const devices = changes.filter((c) => c.op === 'put' && c.resource.resourceType === 'Device');
      if (index === 0) {
        deviceOps.push(...devices);
      }
      const rest = changes.filter((c) => !(c.op === 'put' && c.resource.resourceType === 'Device'));
      const ids = rest.flatMap((c) => (c.op === 'put' ? [c.resource.id] : []));
      const key = /"code":"([0-9a-f]{64}):/.exec(JSON.stringify(rest))?.[1];
      if (!key || ids.length === 0) {
        throw new Error('a template record has no idempotency key or no resources');
      }
      return {
        ops: JSON.stringify(rest),
        firstOps: JSON.stringify([...deviceOps, ...rest]),
        pattern: new RegExp([...ids, key].map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g'),
      };
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `encodeRecord`'s framing of an ops array that is already JSON. */
function frame(ops: string): Buffer {
  const bytes = Buffer.from(ops, 'utf8');
  const crc = crc32(bytes).toString(16).padStart(8, '0');
  return Buffer.concat([Buffer.from(`{"v":1,"crc":"${crc}","ops":`, 'latin1'), bytes, Buffer.from('}\n', 'latin1')]);
}

function writeAll(fd: number, buffer: Buffer): number {
  let written = 0;
  while (written < buffer.length) {
    written += writeSync(fd, buffer, written, buffer.length - written);
  }
  return written;
}

if (require.main === module) {
  const [dataDir, records] = process.argv.slice(2);
  if (!dataDir || !records) {
    throw new Error('usage: syntheticJournal.js <dataDir> <records>');
  }
  writeSyntheticJournal(dataDir, Number(records)).then(
    (result) => console.log(JSON.stringify(result)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    }
  );
}
