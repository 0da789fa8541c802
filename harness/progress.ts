// Progress for long work. Each event is a line stamped with the time since the command started, so
// a CI log shows where the minutes went. On a terminal, a status line under the log also shows the
// current phase and its running time, redrawn twice a second.

export type Log = (line: string) => void;

/** A progress log; `pause()` takes the status line off the terminal (until the next line), so that output can follow. */
export type Progress = Log & { pause: () => void };

export function createProgress(stream: NodeJS.WriteStream = process.stderr, startedAt = performance.now()): Progress {
  const stamp = () => `[${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)}s]`;
  if (!stream.isTTY) return Object.assign((line: string) => void stream.write(`${stamp()} ${line}\n`), { pause: () => {} });

  let phase = '';
  let phaseStart = performance.now();
  const status = () => {
    if (!phase) return;
    const seconds = ((performance.now() - phaseStart) / 1000).toFixed(1);
    const text = `▸ ${phase} (${seconds} s)`.slice(0, Math.max(20, (stream.columns || 100) - 1));
    // NO_COLOR (no-color.org): no dimming; the line is still redrawn in place.
    stream.write(process.env.NO_COLOR ? `\r\x1b[2K${text}` : `\r\x1b[2K\x1b[2m${text}\x1b[0m`);
  };
  setInterval(status, 500).unref();
  const log = (line: string) => {
    stream.write(`\r\x1b[2K${stamp()} ${line}\n`);
    phase = line;
    phaseStart = performance.now();
    status();
  };
  const pause = () => {
    if (phase) stream.write('\r\x1b[2K');
    phase = '';
  };
  return Object.assign(log, { pause });
}
