import { describe, expect, it } from 'vitest';
import { classifyWriteError, describeNotice, isCommittedLocallyNotice } from '../../harness/engines/postgres/classify.ts';

const serverError = (code: string, severity = 'ERROR') => Object.assign(new Error('server said no'), { code, severity });

describe('classifying a failed write', () => {
  it('is a definite failure when no connection could be made (the statement never reached the server)', () => {
    expect(classifyWriteError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'connect')).toBe('fail');
    expect(classifyWriteError(new Error('timeout expired'), 'connect')).toBe('fail');
  });

  it.each([
    ['25006', 'read-only transaction'],
    ['53100', 'disk full while inserting'],
    ['23505', 'unique violation'],
    ['40001', 'serialization failure'],
  ])('is a definite failure for an ERROR %s (%s): the transaction was rolled back', (code) => {
    expect(classifyWriteError(serverError(code), 'statement')).toBe('fail');
  });

  it.each([
    ['57P01', 'FATAL', 'terminated by administrator command'],
    ['XX000', 'PANIC', 'server panic'],
    ['58030', 'ERROR', 'I/O error'],
    ['08006', 'ERROR', 'connection failure'],
  ])('is indeterminate for %s %s (%s): the commit may have happened', (code, severity) => {
    expect(classifyWriteError(serverError(code, severity), 'statement')).toBe('info');
  });

  it('is indeterminate for a dropped connection or a timeout', () => {
    expect(classifyWriteError(new Error('Connection terminated unexpectedly'), 'statement')).toBe('info');
    expect(classifyWriteError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'statement')).toBe('info');
    expect(classifyWriteError(new Error('Query read timeout'), 'statement')).toBe('info');
  });

  it('recognises the warning of a commit that might not have been replicated by its DETAIL, as PostgreSQL sends it', () => {
    // PostgreSQL's syncrep.c: the message says the wait was cancelled; the DETAIL says the commit happened.
    const cancelled = {
      message: 'canceling wait for synchronous replication due to user request',
      detail: 'The transaction has already committed locally, but might not have been replicated to the standby.',
    };
    expect(isCommittedLocallyNotice(cancelled)).toBe(true);
    expect(isCommittedLocallyNotice({ message: cancelled.message })).toBe(false);
    expect(isCommittedLocallyNotice({ message: 'relation "x" already exists, skipping' })).toBe(false);
    expect(describeNotice(cancelled)).toBe(`${cancelled.message} DETAIL: ${cancelled.detail}`);
  });
});
