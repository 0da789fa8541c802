// Reads a history back. A run that crashed may have left a last line cut short: it is reported and
// skipped, and everything before it is used.

import { readFileSync } from 'node:fs';
import { ConfigError, describeError } from '../errors.ts';
import type { HistoryEvent } from './events.ts';

export interface LoadedHistory {
  events: HistoryEvent[];
  /** Lines that could not be parsed (a torn last line after a crash), with their line numbers. */
  skipped: Array<{ line: number; text: string }>;
}

export function parseHistory(text: string): LoadedHistory {
  const events: HistoryEvent[] = [];
  const skipped: LoadedHistory['skipped'] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (!line.trim()) return;
    try {
      const event = JSON.parse(line) as HistoryEvent;
      if (typeof event !== 'object' || event === null || typeof event.type !== 'string' || typeof event.time !== 'number') {
        throw new Error('not a history event');
      }
      events.push(event);
    } catch {
      skipped.push({ line: index + 1, text: line.slice(0, 200) });
    }
  });
  return { events, skipped };
}

export function readHistory(path: string): LoadedHistory {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read history '${path}': ${describeError(error)}. Pass the folder of a run (it holds history.jsonl).`);
  }
  return parseHistory(text);
}
