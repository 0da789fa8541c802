// The pure readers behind a PostgreSQL proof: the WAL segment a file in an archive holds (as
// archive_command or pgBackRest names it), and psql's CSV output split into rows and fields.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvRows } from '../../../harness/engines/postgres/prove/prove.ts';
import { archivedName } from '../../../harness/engines/postgres/prove/replay.ts';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('archivedName', () => {
  it.each([
    ['a plain segment', '000000010000000000000003', '000000010000000000000003'],
    ['a gzip segment', '000000010000000000000003.gz', '000000010000000000000003'],
    ["pgBackRest's segment with its checksum, gzip", `000000010000000000000003-${SHA}.gz`, '000000010000000000000003'],
    ["pgBackRest's segment with its checksum, lz4", `000000010000000000000003-${SHA}.lz4`, '000000010000000000000003'],
    ["pgBackRest's segment with its checksum, uncompressed", `00000002000000000000000A-${SHA}`, '00000002000000000000000A'],
    ['a segment in a pgBackRest archive path', `/repo/archive/main/17-1/0000000100000000/000000010000000000000003-${SHA}.zst`, '000000010000000000000003'],
    ['a timeline history', '00000002.history', '00000002.history'],
    ['a compressed timeline history', '00000002.history.gz', '00000002.history'],
  ])('names %s by its segment', (_what, file, name) => {
    expect(archivedName(file)).toBe(name);
  });

  it.each([
    ['a .partial segment', '000000010000000000000003.partial'],
    ["pgBackRest's .partial segment", `000000010000000000000003.partial-${SHA}.gz`],
    ['a backup history file', '000000010000000000000002.00000028.backup'],
    ['a backup history file with a checksum and compression', `000000010000000000000002.00000028.backup-${SHA}.gz`],
    ['a backup history file at an offset with hex letters', '000000010000000000000002.0000002A.backup'],
    ['something else', 'archive.info'],
    ['a lower-case segment name', '00000001000000000000000a'],
  ])('does not count %s as a segment', (_what, file) => {
    const name = archivedName(file);
    expect(name === undefined || name.length !== 24).toBe(true);
  });

  it('gives a 24-character name only for segments, whatever suffix an archive adds', () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9A-F]{${n}}$`));
    const sha = fc.stringMatching(/^[0-9a-f]{40}$/);
    fc.assert(
      fc.property(hex(24), fc.option(sha, { nil: undefined }), fc.constantFrom('', '.gz', '.lz4', '.zst', '.bz2'), (segment, checksum, suffix) => {
        expect(archivedName(`${segment}${checksum ? `-${checksum}` : ''}${suffix}`)).toBe(segment);
        expect(archivedName(`${segment}.partial${checksum ? `-${checksum}` : ''}${suffix}`)).toBeUndefined();
      }),
    );
  });
});

describe('csvRows', () => {
  it('splits plain rows and fields', () => {
    expect(csvRows('a,b\nc,d\n')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('reads a last row without a trailing newline', () => {
    expect(csvRows('a,b\nc,d')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('keeps commas inside quoted fields', () => {
    expect(csvRows('"1,2",x\n')).toEqual([['1,2', 'x']]);
  });

  it('reads a doubled quote inside a quoted field as one quote', () => {
    expect(csvRows('"say ""hi""",t\n')).toEqual([['say "hi"', 't']]);
  });

  it('keeps newlines inside quoted fields in one row', () => {
    expect(csvRows('"line one\nline two",f\nnext,t\n')).toEqual([
      ['line one\nline two', 'f'],
      ['next', 't'],
    ]);
  });

  it('keeps empty fields, quoted or not', () => {
    expect(csvRows(',"",x\n')).toEqual([['', '', 'x']]);
  });

  it('reads a lone empty line as one row holding one empty field', () => {
    expect(csvRows('\n')).toEqual([['']]);
  });

  it('reads empty text as no rows', () => {
    expect(csvRows('')).toEqual([]);
  });

  it('reads back any table written as psql writes CSV', () => {
    const field = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', ' ', 'é') });
    const table = fc.array(fc.array(field, { minLength: 1, maxLength: 4 }), { maxLength: 5 });
    const quote = (v: string) => (/[",\n]/.test(v) || v === '' ? `"${v.replace(/"/g, '""')}"` : v);
    fc.assert(
      fc.property(table, (rows) => {
        const text = rows.map((r) => `${r.map(quote).join(',')}\n`).join('');
        expect(csvRows(text)).toEqual(rows);
      }),
    );
  });
});
