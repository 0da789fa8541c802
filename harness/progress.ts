// Progress lines for long work: each line carries the time elapsed since the command started, so a
// CI log shows where the minutes went. Plain lines, one per event, on every kind of output.

export type Log = (line: string) => void;

export function createProgress(stream: NodeJS.WritableStream = process.stderr, startedAt = performance.now()): Log {
  return (line: string) => {
    const elapsed = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(6);
    stream.write(`[${elapsed}s] ${line}\n`);
  };
}
