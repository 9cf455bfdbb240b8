import { crc32 } from 'node:zlib';
import type { StoredChange } from './storedChange';

/**
 * One journal line: `{"v":1,"crc":"<8 hex>","ops":[…]}\n`.
 *
 * The CRC-32 covers the exact bytes of the `ops` array as written, so checking a line never
 * depends on re-serialising what was parsed. The fixed-width header makes the ops bytes a
 * plain slice of the line.
 */
const HEADER_START = '{"v":1,"crc":"';
const HEADER_END = '","ops":';
const CRC_HEX_LENGTH = 8;
const OPS_START = HEADER_START.length + CRC_HEX_LENGTH + HEADER_END.length;
const CLOSING_BRACE = 0x7d;
const HEADER_START_BYTES = Buffer.from(HEADER_START, 'latin1');
const HEADER_END_BYTES = Buffer.from(HEADER_END, 'latin1');

export type DecodedRecord =
  | { readonly ok: true; readonly changes: StoredChange[] }
  /** `version` is a line from a newer format (never to be dropped as damage); `damaged` is torn or corrupt. */
  | { readonly ok: false; readonly reason: 'version' | 'damaged' };

export function encodeRecord(changes: readonly StoredChange[]): Buffer {
  const ops = Buffer.from(JSON.stringify(changes), 'utf8');
  const crc = crc32(ops).toString(16).padStart(CRC_HEX_LENGTH, '0');
  return Buffer.concat([Buffer.from(`${HEADER_START}${crc}${HEADER_END}`, 'latin1'), ops, Buffer.from('}\n', 'latin1')]);
}

/** Decodes one line, without its trailing newline. */
export function decodeRecord(line: Buffer): DecodedRecord {
  if (!startsWith(line, HEADER_START_BYTES)) {
    return { ok: false, reason: isOtherVersion(line) ? 'version' : 'damaged' };
  }
  if (line.length < OPS_START + 3 || line[line.length - 1] !== CLOSING_BRACE) {
    return { ok: false, reason: 'damaged' };
  }
  const crcStart = HEADER_START_BYTES.length;
  if (!line.subarray(crcStart + CRC_HEX_LENGTH, OPS_START).equals(HEADER_END_BYTES)) {
    return { ok: false, reason: 'damaged' };
  }
  const crcText = line.toString('latin1', crcStart, crcStart + CRC_HEX_LENGTH);
  const ops = line.subarray(OPS_START, line.length - 1);
  if (!/^[0-9a-f]{8}$/.test(crcText) || Number.parseInt(crcText, 16) !== crc32(ops)) {
    return { ok: false, reason: 'damaged' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(ops.toString('utf8'));
  } catch {
    return { ok: false, reason: 'damaged' };
  }
  if (!Array.isArray(parsed) || !parsed.every(isStoredChange)) {
    return { ok: false, reason: 'damaged' };
  }
  return { ok: true, changes: parsed };
}

function isStoredChange(value: unknown): value is StoredChange {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const change = value as Record<string, unknown>;
  if (change.op === 'put') {
    const resource = change.resource as Record<string, unknown> | null | undefined;
    return typeof resource?.resourceType === 'string' && typeof resource.id === 'string';
  }
  return change.op === 'delete' && typeof change.resourceType === 'string' && typeof change.id === 'string';
}

/** A complete header of another format version; a torn v1 header is damage, not a version. */
function isOtherVersion(line: Buffer): boolean {
  const version = /^\{"v":(\d+),/.exec(line.toString('latin1', 0, 24))?.[1];
  return version !== undefined && version !== '1';
}

function startsWith(line: Buffer, prefix: Buffer): boolean {
  return line.length >= prefix.length && line.subarray(0, prefix.length).equals(prefix);
}
