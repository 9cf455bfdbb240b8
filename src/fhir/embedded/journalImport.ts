import type { WithId } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { SqliteRepository } from './sqliteRepository';

/** The file the previous embedded store (up to 1.0.0) kept its data in. */
export const JOURNAL_FILE = 'journal.ndjson';
const IMPORTED_KEY = 'journal-import';
const READ_CHUNK_BYTES = 1 << 20;

/** One journaled change, as the previous store wrote it. */
type JournalChange =
  { readonly op: 'put'; readonly resource: WithId<Resource> } | { readonly op: 'delete'; readonly resourceType: string; readonly id: string };

export interface JournalImportLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface JournalImportSummary {
  readonly records: number;
  readonly changes: number;
  readonly droppedBytes: number;
  /** Where the journal was moved once imported. */
  readonly movedTo: string;
}

/**
 * Upgrade from the journaled store: if DATA_DIR holds a `journal.ndjson`, replays it into the
 * database (every version it holds, with its own id, versionId and lastUpdated) in one
 * transaction, then renames it `journal.ndjson.imported-<time>`. The import is recorded in the
 * database in the same transaction, so a crash between the commit and the rename only
 * renames the file on the next start; it never imports twice.
 *
 * The journal's own rules hold: a torn or damaged record ends it (nothing after it was ever
 * acknowledged); a record of a newer format refuses the import.
 */
export async function importJournal(dir: string, repo: SqliteRepository, logger: JournalImportLogger): Promise<JournalImportSummary | undefined> {
  const path = join(dir, JOURNAL_FILE);
  if (!existsSync(path)) {
    return undefined;
  }
  const fingerprint = fingerprintOf(path);
  const movedTo = `${path}.imported-${new Date().toISOString().replaceAll(':', '-')}`;
  if (repo.database.readMeta(IMPORTED_KEY) === fingerprint) {
    renameSync(path, movedTo);
    logger.info({ journal: path, movedTo }, 'journal: already imported; moved aside');
    return { records: 0, changes: 0, droppedBytes: 0, movedTo };
  }
  let records = 0;
  let changes = 0;
  let validEnd = 0;
  await repo.withTransaction(async () => {
    for (const line of readLines(path)) {
      const decoded = line.terminated ? decodeRecord(line.bytes) : 'damaged';
      if (decoded === 'version') {
        throw new Error(`${path} has a record at byte ${line.start} written by a newer journal format; refusing to import it`);
      }
      if (decoded === 'damaged') {
        break;
      }
      for (const change of decoded) {
        if (change.op === 'put') {
          await repo.putVersion(change.resource);
        } else {
          await repo.deleteIfPresent(change.resourceType, change.id);
        }
      }
      records++;
      changes += decoded.length;
      validEnd = line.end;
    }
    repo.database.writeMeta(IMPORTED_KEY, fingerprint);
  });
  const droppedBytes = statSync(path).size - validEnd;
  if (droppedBytes > 0) {
    logger.warn({ journal: path, droppedBytes, keptRecords: records }, 'journal: the records after a damaged one were not imported (kept in the moved file)');
  }
  renameSync(path, movedTo);
  logger.info({ journal: path, records, changes, movedTo }, 'journal imported into the database');
  return { records, changes, droppedBytes, movedTo };
}

/** Size and a hash of the whole file: the same journal is recognised after a crash. */
function fingerprintOf(path: string): string {
  const hash = createHash('sha256');
  let size = 0;
  for (const line of readLines(path)) {
    hash.update(line.bytes);
    hash.update('\n');
    size = line.end;
  }
  return `${size}:${hash.digest('hex')}`;
}

const HEADER_START = Buffer.from('{"v":1,"crc":"', 'latin1');
const HEADER_END = Buffer.from('","ops":', 'latin1');
const CRC_HEX_LENGTH = 8;
const OPS_START = HEADER_START.length + CRC_HEX_LENGTH + HEADER_END.length;

/** A v1 journal line: `{"v":1,"crc":"<8 hex>","ops":[…]}`, the CRC-32 over the ops bytes as written. */
function decodeRecord(line: Buffer): JournalChange[] | 'damaged' | 'version' {
  if (line.length < OPS_START + 3 || !line.subarray(0, HEADER_START.length).equals(HEADER_START)) {
    const version = /^\{"v":(\d+),/.exec(line.toString('latin1', 0, 24))?.[1];
    return version !== undefined && version !== '1' ? 'version' : 'damaged';
  }
  const crcText = line.toString('latin1', HEADER_START.length, HEADER_START.length + CRC_HEX_LENGTH);
  const ops = line.subarray(OPS_START, line.length - 1);
  if (
    !line.subarray(HEADER_START.length + CRC_HEX_LENGTH, OPS_START).equals(HEADER_END) ||
    line[line.length - 1] !== 0x7d ||
    !/^[0-9a-f]{8}$/.test(crcText) ||
    Number.parseInt(crcText, 16) !== crc32(ops)
  ) {
    return 'damaged';
  }
  try {
    const parsed: unknown = JSON.parse(ops.toString('utf8'));
    return Array.isArray(parsed) && parsed.every(isChange) ? parsed : 'damaged';
  } catch {
    return 'damaged';
  }
}

function isChange(value: unknown): value is JournalChange {
  const change = value as Record<string, unknown> | null;
  if (change?.op === 'put') {
    const resource = change.resource as Record<string, unknown> | null | undefined;
    return typeof resource?.resourceType === 'string' && typeof resource.id === 'string';
  }
  return change?.op === 'delete' && typeof change.resourceType === 'string' && typeof change.id === 'string';
}

interface JournalLine {
  readonly bytes: Buffer;
  readonly start: number;
  readonly end: number;
  readonly terminated: boolean;
}

/** Streams the file's lines, so a journal larger than the maximum string length still imports. */
function* readLines(path: string): Generator<JournalLine> {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    let carry = Buffer.alloc(0);
    let carryStart = 0;
    let position = 0;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, position);
      if (read === 0) {
        break;
      }
      position += read;
      const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
      let from = 0;
      for (let newline = data.indexOf(0x0a, from); newline !== -1; newline = data.indexOf(0x0a, from)) {
        yield { bytes: data.subarray(from, newline), start: carryStart + from, end: carryStart + newline + 1, terminated: true };
        from = newline + 1;
      }
      carry = Buffer.from(data.subarray(from));
      carryStart += from;
    }
    if (carry.length > 0) {
      yield { bytes: carry, start: carryStart, end: carryStart + carry.length, terminated: false };
    }
  } finally {
    closeSync(fd);
  }
}
