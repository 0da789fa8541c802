// Docker's multiplexed exec stream (no TTY): frames of an 8-byte header (1 stdout, 2 stderr, then
// the payload's length) and the payload.

import type { Duplex } from 'node:stream';

/**
 * Reads Docker's multiplexed exec stream (frames of an 8-byte header, 1 stdout or 2 stderr, then
 * the payload) to its end, handing on payloads as slices of what was read: nothing is copied.
 */
export async function demux(stream: Duplex, stdout: (chunk: Buffer) => void | Promise<void>, stderr: (chunk: Buffer) => void): Promise<void> {
  const header = Buffer.alloc(8);
  let headerBytes = 0;
  let remaining = 0; // payload bytes of the current frame still to come
  let kind = 0;
  for await (const data of stream as AsyncIterable<Buffer>) {
    let at = 0;
    while (at < data.length) {
      if (remaining === 0) {
        const take = Math.min(8 - headerBytes, data.length - at);
        data.copy(header, headerBytes, at, at + take);
        headerBytes += take;
        at += take;
        if (headerBytes < 8) break;
        headerBytes = 0;
        kind = header[0]!;
        remaining = header.readUInt32BE(4);
        continue;
      }
      const take = Math.min(remaining, data.length - at);
      const payload = data.subarray(at, at + take);
      at += take;
      remaining -= take;
      if (kind === 2) stderr(payload);
      else await stdout(payload);
    }
  }
}

