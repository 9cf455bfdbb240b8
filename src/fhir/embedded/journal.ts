import type { WithId } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import {
  closeSync,
  constants,
  copyFileSync,
  fdatasync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeRecord, encodeRecord } from './journalRecord';
import { transientError } from './outcomes';
import type { StoredChange } from './storedChange';

const fdatasyncAsync = promisify(fdatasync);

export const JOURNAL_FILE = 'journal.ndjson';
const COMPACTING_SUFFIX = '.compacting';
const READ_CHUNK_BYTES = 1 << 20;
const SNAPSHOT_WRITE_BYTES = 1 << 20;

/** pino-compatible; only ids, counts, sizes and paths are ever logged, never resource content. */
export interface JournalLogger {
  warn(obj: object, msg: string): void;
}

export interface ReplaySummary {
  readonly records: number;
  readonly changes: number;
  readonly droppedBytes: number;
  readonly ms: number;
}

/**
 * The embedded store's durable log: one line per committed request (a single write or a
 * whole transaction), appended and fdatasync'ed before the request is answered.
 *
 * Appends are synchronous writes into the page cache, made by the store while it holds its
 * mutex so lines never interleave. Durability is asynchronous and shared: every waiter whose
 * line was written before an fdatasync started is released by that one call (group commit).
 */
export class Journal {
  private fd: number;
  private size: number;
  private recordCount: number;
  private changeCount: number;
  private writtenSeq = 0;
  private syncedSeq = 0;
  private syncing: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly logger: JournalLogger,
    fd: number,
    size: number,
    records: number,
    changes: number,
    readonly replay: ReplaySummary
  ) {
    this.fd = fd;
    this.size = size;
    this.recordCount = records;
    this.changeCount = changes;
  }

  /**
   * Opens (creating if needed) `dir/journal.ndjson` and replays every intact record through
   * `apply`, in order. A damaged tail is cut off: a torn last line is dropped with a warning;
   * if more than one line follows the first damaged one, those bytes are first copied to a
   * `journal.ndjson.dropped-<time>` file, since bit rot rather than a crash may be the cause.
   * Records after the first damaged one are never applied: an acknowledged record always has
   * every earlier byte fsynced, so anything after a damaged record was never acknowledged.
   */
  static open(dir: string, logger: JournalLogger, apply: (changes: StoredChange[]) => void): Journal {
    const started = performance.now();
    const path = join(dir, JOURNAL_FILE);
    // A crash during compaction leaves its temporary file; the journal itself is intact.
    rmSync(path + COMPACTING_SUFFIX, { force: true });
    let created = false;
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw err;
      }
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
      created = true;
    }
    try {
      if (created) {
        fsyncDirectory(dir);
      }
      const fileSize = fstatSync(fd).size;
      let validEnd = 0;
      let records = 0;
      let changes = 0;
      let damagedAt: number | undefined;
      let linesAfterDamage = 0;
      for (const line of readLines(fd)) {
        if (damagedAt !== undefined) {
          linesAfterDamage++;
          continue;
        }
        const decoded = line.terminated ? decodeRecord(line.bytes) : ({ ok: false, reason: 'damaged' } as const);
        if (!decoded.ok) {
          if (decoded.reason === 'version') {
            throw new Error(`${path} has a record at byte ${line.start} written by a newer journal format; refusing to open it`);
          }
          damagedAt = line.start;
          continue;
        }
        apply(decoded.changes);
        validEnd = line.end;
        records++;
        changes += decoded.changes.length;
      }
      const droppedBytes = fileSize - validEnd;
      if (droppedBytes > 0) {
        if (linesAfterDamage > 0) {
          const savedTo = `${path}.dropped-${new Date().toISOString().replaceAll(':', '-')}`;
          copyFileSync(path, savedTo);
          logger.warn(
            { journal: path, savedTo, droppedRecords: linesAfterDamage + 1, droppedBytes, keptRecords: records },
            'journal: damaged records found before the end; kept the intact prefix and saved the whole file aside'
          );
        } else {
          logger.warn({ journal: path, droppedBytes, keptRecords: records }, 'journal: dropped a torn last record');
        }
        ftruncateSync(fd, validEnd);
        fsyncSync(fd);
      }
      const replay = { records, changes, droppedBytes, ms: performance.now() - started };
      return new Journal(dir, logger, fd, validEnd, records, changes, replay);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Lines in the journal file (committed requests, or snapshot entries after a compaction). */
  get records(): number {
    return this.recordCount;
  }

  /** Resource versions and deletes in the journal file; compared with live resources to decide compaction. */
  get changes(): number {
    return this.changeCount;
  }

  /** Sequence number of the last appended record. */
  get lastSeq(): number {
    return this.writtenSeq;
  }

  /**
   * Writes one record (not yet durable: await `durable(seq)` before acknowledging). On a
   * failed write the file is cut back to its previous end, so a partial line can never end
   * up in the middle of the journal; the caller must roll the changes back.
   */
  append(changes: readonly StoredChange[]): number {
    this.assertWritable();
    const line = encodeRecord(changes);
    try {
      writeFully(this.fd, line, this.size);
    } catch (err) {
      try {
        ftruncateSync(this.fd, this.size);
      } catch (truncateErr) {
        this.fail(truncateErr);
      }
      throw transientError('The journal could not be written', err);
    }
    this.size += line.length;
    this.recordCount++;
    this.changeCount += changes.length;
    return ++this.writtenSeq;
  }

  /** Resolves once record `seq` (default: everything appended so far) is on stable storage. */
  async durable(seq = this.writtenSeq): Promise<void> {
    while (this.syncedSeq < seq) {
      if (this.failure) {
        throw this.failure;
      }
      this.syncing ??= this.syncOnce().finally(() => {
        this.syncing = undefined;
      });
      await this.syncing;
    }
    if (this.failure) {
      throw this.failure;
    }
  }

  /**
   * Rewrites the journal as one put per live resource: write a temporary file, fsync it,
   * rename it over the journal, fsync the directory. A crash at any point leaves either the
   * old or the new journal whole. The caller must hold off appends until this resolves.
   */
  async compact(resources: Iterable<WithId<Resource>>): Promise<void> {
    this.assertWritable();
    await this.durable();
    const path = join(this.dir, JOURNAL_FILE);
    const temporary = path + COMPACTING_SUFFIX;
    const handle = await openFile(temporary, 'w', 0o600);
    let size = 0;
    let records = 0;
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async (): Promise<void> => {
        const chunk = Buffer.concat(pending);
        let written = 0;
        while (written < chunk.length) {
          written += (await handle.write(chunk, written, chunk.length - written)).bytesWritten;
        }
        pending = [];
        pendingBytes = 0;
      };
      for (const resource of resources) {
        const line = encodeRecord([{ op: 'put', resource }]);
        pending.push(line);
        pendingBytes += line.length;
        size += line.length;
        records++;
        if (pendingBytes >= SNAPSHOT_WRITE_BYTES) {
          await flush();
        }
      }
      await flush();
      await handle.sync();
      await handle.close();
    } catch (err) {
      await handle.close().catch(() => undefined);
      rmSync(temporary, { force: true });
      throw err;
    }
    renameSync(temporary, path);
    fsyncDirectory(this.dir);
    // From here the old descriptor points at an unlinked file; everything it held is in the snapshot.
    closeSync(this.fd);
    this.fd = openSync(path, constants.O_RDWR);
    this.size = size;
    this.recordCount = records;
    this.changeCount = records;
    this.syncedSeq = this.writtenSeq;
  }

  /** Makes everything appended durable, then closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    try {
      await this.durable();
    } finally {
      this.closed = true;
      closeSync(this.fd);
    }
  }

  private async syncOnce(): Promise<void> {
    const target = this.writtenSeq;
    try {
      await fdatasyncAsync(this.fd);
      this.syncedSeq = Math.max(this.syncedSeq, target);
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * After a failed fsync the kernel may have dropped the dirty pages and reports success on
   * a retry (the "fsyncgate" problem), so the journal refuses all further work: only a
   * restart, replaying what really is on disk, gives a trustworthy state again.
   */
  private fail(err: unknown): void {
    if (this.failure) {
      return;
    }
    this.failure = transientError('The journal failed; the embedded store must be restarted', err);
    this.logger.warn({ journal: join(this.dir, JOURNAL_FILE), code: (err as NodeJS.ErrnoException).code }, 'journal: write or fsync failed; refusing further writes');
  }

  private assertWritable(): void {
    if (this.failure) {
      throw this.failure;
    }
    if (this.closed) {
      throw transientError('The journal is closed');
    }
  }
}

interface JournalLine {
  /** The line without its newline. Only valid until the next line is read. */
  readonly bytes: Buffer;
  readonly start: number;
  /** Offset just past the newline (or past the last byte for an unterminated line). */
  readonly end: number;
  readonly terminated: boolean;
}

/** Streams the file's lines, so a journal larger than the maximum string length still opens. */
function* readLines(fd: number): Generator<JournalLine> {
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
    // Copied: `chunk` is reused by the next read.
    carry = Buffer.from(data.subarray(from));
    carryStart += from;
  }
  if (carry.length > 0) {
    yield { bytes: carry, start: carryStart, end: carryStart + carry.length, terminated: false };
  }
}

function writeFully(fd: number, data: Buffer, position: number): void {
  let written = 0;
  while (written < data.length) {
    written += writeSync(fd, data, written, data.length - written, position + written);
  }
}

/** Makes a file creation or rename in `dir` itself durable. */
function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
