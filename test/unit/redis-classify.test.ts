import { describe, expect, it } from 'vitest';
import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { classifyRedisError, describeRedisError, isReplyError } from '../../harness/engines/redis/classify.ts';

const reply = (message: string): Error => new (ReplyError as new (message: string) => Error)(message);
const systemError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('classifying a failed Redis command', () => {
  it('is a definite failure when no connection could be made (the command never reached the server)', () => {
    expect(classifyRedisError(systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6379'), 'connect')).toBe('fail');
    expect(classifyRedisError(systemError('ETIMEDOUT', 'connect ETIMEDOUT'), 'connect')).toBe('fail');
    expect(classifyRedisError(reply('NOAUTH HELLO must be called with the client already authenticated'), 'connect')).toBe('fail');
  });

  it.each([
    ["READONLY You can't write against a read only replica."],
    ['NOREPLICAS Not enough good replicas to write.'],
    ['MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.'],
    ["OOM command not allowed when used memory > 'maxmemory'."],
    ['NOAUTH Authentication required.'],
    ['WRONGTYPE Operation against a key holding the wrong kind of value'],
    ["ERR unknown command 'WAITAOF', with args beginning with: "],
    ['LOADING Redis is loading the dataset in memory'],
    ["MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."],
    ['BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.'],
    ['NOSCRIPT No matching script. Please use EVAL.'],
    ['EXECABORT Transaction discarded because of previous errors.'],
  ])('is a definite failure for the error reply %s: Redis refused it before applying it', (message) => {
    expect(classifyRedisError(reply(message), 'command')).toBe('fail');
  });

  it('recognises an error reply by its name too (another copy of redis-errors, a RESP3 SimpleError)', () => {
    const lookalike = new Error('READONLY You can\'t write against a read only replica.');
    Object.defineProperty(lookalike, 'name', { value: 'ReplyError' });
    expect(isReplyError(lookalike)).toBe(true);
    expect(classifyRedisError(lookalike, 'command')).toBe('fail');
  });

  it('is indeterminate for error replies it does not know, and for a prefix that is only part of a word', () => {
    expect(classifyRedisError(reply('TRYAGAIN Multiple keys request during rehashing of slot'), 'command')).toBe('info');
    expect(classifyRedisError(reply('ERRANT something unheard of'), 'command')).toBe('info');
    expect(classifyRedisError(reply('UNKILLABLE The busy script was sent by a master instance'), 'command')).toBe('info');
  });

  it('is indeterminate when the same words come from the client rather than the server', () => {
    expect(isReplyError(new Error('READONLY'))).toBe(false);
    expect(classifyRedisError(new Error("READONLY You can't write against a read only replica."), 'command')).toBe('info');
  });

  it('is indeterminate for a dropped connection, a timeout or a retry error: the command may have been applied', () => {
    expect(classifyRedisError(new Error('Connection is closed.'), 'command')).toBe('info');
    expect(classifyRedisError(systemError('ECONNRESET', 'read ECONNRESET'), 'command')).toBe('info');
    expect(classifyRedisError(systemError('EPIPE', 'write EPIPE'), 'command')).toBe('info');
    expect(classifyRedisError(new Error('Command timed out'), 'command')).toBe('info');
    expect(classifyRedisError(new MaxRetriesPerRequestError(0), 'command')).toBe('info');
    expect(classifyRedisError('something odd', 'command')).toBe('info');
    expect(classifyRedisError(undefined, 'command')).toBe('info');
  });

  it('describes errors as a person reads them', () => {
    expect(describeRedisError(reply('READONLY You can\'t write against a read only replica.'))).toBe("READONLY You can't write against a read only replica.");
    expect(describeRedisError(systemError('ECONNRESET', 'read ECONNRESET'))).toBe('read ECONNRESET');
    expect(describeRedisError(systemError('ECONNREFUSED', 'refused'))).toBe('ECONNREFUSED: refused');
    expect(describeRedisError(new Error('Command timed out'))).toBe('Command timed out');
  });
});
