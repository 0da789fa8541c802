// The head of an RDB file, read without a server: its magic and format version, then the aux fields
// (0xFA key value) the server writes first (redis-ver, valkey-ver, ctime), which say who wrote it.

import { closeSync, openSync, readSync } from 'node:fs';

export interface RdbHeader {
  /** 'REDIS' or 'VALKEY' (Valkey 9 writes its own magic). */
  magic: string;
  /** The RDB format version (REDIS0012 → 12). */
  version: number;
  /** The aux fields, as strings (integers as their decimal text). */
  aux: Record<string, string>;
}

const AUX = 0xfa;
/** Enough for every aux field a server writes; the keys follow them. */
const HEAD_BYTES = 64 * 1024;

/** The first bytes of a file (fewer if it is shorter). */
export function readHead(file: string, bytes = HEAD_BYTES): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const read = readSync(fd, buffer, 0, bytes, 0);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** Whether bytes start as an RDB file does (an AOF's base may be one: the RDB preamble). */
export function looksLikeRdb(head: Buffer): boolean {
  return /^(REDIS\d{4}|VALKEY\d{3})/.test(head.subarray(0, 9).toString('latin1'));
}

/** A length-encoded integer or string at `at`; undefined when the bytes end first. */
function readLength(buf: Buffer, at: number): { length: number; next: number; encoded?: number } | undefined {
  const first = buf[at];
  if (first === undefined) return undefined;
  const type = first >> 6;
  if (type === 0) return { length: first & 0x3f, next: at + 1 };
  if (type === 1) return at + 1 < buf.length ? { length: ((first & 0x3f) << 8) | buf[at + 1]!, next: at + 2 } : undefined;
  if (type === 3) return { length: 0, next: at + 1, encoded: first & 0x3f };
  if (first === 0x80) return at + 4 < buf.length ? { length: buf.readUInt32BE(at + 1), next: at + 5 } : undefined;
  if (first === 0x81) return at + 8 < buf.length ? { length: Number(buf.readBigUInt64BE(at + 1)), next: at + 9 } : undefined;
  return undefined;
}

/** A string at `at`: plain, or an integer encoding (8, 16, 32 bits, little-endian); LZF is skipped as undefined. */
function readString(buf: Buffer, at: number): { value: string | undefined; next: number } | undefined {
  const len = readLength(buf, at);
  if (!len) return undefined;
  if (len.encoded === undefined) return len.next + len.length <= buf.length ? { value: buf.subarray(len.next, len.next + len.length).toString('utf8'), next: len.next + len.length } : undefined;
  const at2 = len.next;
  if (len.encoded === 0) return at2 + 1 <= buf.length ? { value: String(buf.readInt8(at2)), next: at2 + 1 } : undefined;
  if (len.encoded === 1) return at2 + 2 <= buf.length ? { value: String(buf.readInt16LE(at2)), next: at2 + 2 } : undefined;
  if (len.encoded === 2) return at2 + 4 <= buf.length ? { value: String(buf.readInt32LE(at2)), next: at2 + 4 } : undefined;
  if (len.encoded === 3) {
    const compressed = readLength(buf, at2);
    const plain = compressed && readLength(buf, compressed.next);
    return plain ? { value: undefined, next: plain.next + compressed.length } : undefined;
  }
  return undefined;
}

/** The header of an RDB file's first bytes, or undefined when they are not an RDB file's. */
export function parseRdbHeader(head: Buffer): RdbHeader | undefined {
  const match = /^(REDIS)(\d{4})|^(VALKEY)(\d{3})/.exec(head.subarray(0, 9).toString('latin1'));
  if (!match) return undefined;
  const header: RdbHeader = { magic: (match[1] ?? match[3])!, version: Number(match[2] ?? match[4]), aux: {} };
  let at = 9;
  // Aux fields come first; the first other opcode (a database, a module's aux, the end) ends them.
  while (head[at] === AUX) {
    const key = readString(head, at + 1);
    const value = key && readString(head, key.next);
    if (!key || !value) break;
    if (key.value !== undefined && value.value !== undefined) header.aux[key.value] = value.value;
    at = value.next;
  }
  return header;
}
