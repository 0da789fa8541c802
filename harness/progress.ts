// Progress for long work. Each event is a line stamped with the time since the command started, so
// a CI log shows where the minutes went. On a terminal, a status line under the log also shows the
// current phase and its running time, redrawn twice a second.

export type Log = (line: string) => void;

export function createProgress(stream: NodeJS.WriteStream = process.stderr, startedAt = performance.now()): Log {
  const stamp = () => `[${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)}s]`;
  if (!stream.isTTY) return (line: string) => void stream.write(`${stamp()} ${line}\n`);

  let phase = '';
  let phaseStart = performance.now();
  const status = () => {
    if (!phase) return;
    const seconds = ((performance.now() - phaseStart) / 1000).toFixed(1);
    const text = `▸ ${phase} (${seconds} s)`;
    stream.write(`\r\x1b[2K\x1b[2m${text.slice(0, Math.max(20, (stream.columns || 100) - 1))}\x1b[0m`);
  };
  setInterval(status, 500).unref();
  return (line: string) => {
    stream.write(`\r\x1b[2K${stamp()} ${line}\n`);
    phase = line;
    phaseStart = performance.now();
    status();
  };
}
