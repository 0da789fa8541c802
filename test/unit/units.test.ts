import { describe, expect, it } from 'vitest';
import { parseDuration, parseSize } from '../../harness/units.ts';

describe('parseSize', () => {
  it.each([
    ['512M', 512 * 1024 ** 2],
    ['1G', 1024 ** 3],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['64 MiB', 64 * 1024 ** 2],
    ['4096', 4096],
    [65536, 65536],
  ])('reads %s', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['', 'M', '12X', '-5M', '0', 0, 1.5])('rejects %s', (text) => expect(parseSize(text)).toBeUndefined());
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['1.5s', 1500],
    ['2m', 120_000],
  ])('reads %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['5', 'soon', '5 sec', '-1s'])('rejects %s', (text) => expect(parseDuration(text)).toBeUndefined());
});
