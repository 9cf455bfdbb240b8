import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const LOCK_FILE = 'LOCK';

/** Another live process (or this one) has the data directory open. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number
  ) {
    super(
      `DATA_DIR ${dataDir} is already in use by process ${pid}` +
        (pid === process.pid ? ' (this process: close the other store first)' : '') +
        `; only one process may open it. If that process is gone, delete ${join(dataDir, LOCK_FILE)}.`
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  release(): void;
}

/** Lock files this process holds, to tell its own live lock from a stale one left by a previous process with the same pid. */
const heldHere = new Set<string>();

/**
 * Takes `dataDir/LOCK` (created exclusively, holding the pid). A lock whose pid is not alive
 * is stale and taken over. Containers often restart the service with the same pid (1), so a
 * lock holding this process's own pid is stale unless this process really took it.
 *
 * Limits: two processes taking over the same stale lock at the same instant could both
 * succeed, and a recycled pid makes a stale lock look alive (the message says what to do).
 */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw err;
      }
      const holder = readHolder(path);
      if (holder !== undefined && isAlive(holder, path)) {
        throw new DataDirLockedError(dir, holder);
      }
      rmSync(path, { force: true });
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    heldHere.add(path);
    return { release: () => release(path) };
  }
  const holder = readHolder(path);
  throw new DataDirLockedError(dir, holder ?? -1);
}

function release(path: string): void {
  if (!heldHere.delete(path)) {
    return;
  }
  // Never remove a lock that another process has since taken over.
  if (readHolder(path) === process.pid) {
    rmSync(path, { force: true });
  }
}

function readHolder(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number, path: string): boolean {
  if (pid === process.pid) {
    return heldHere.has(path);
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
