/**
 * How a database error is classed and told (receiver/model/database-errors.ts): what may pass when asked
 * again is transient, what the data or the SQL caused is not, and either is described in one short line.
 */
import { describe, expect, it } from 'vitest';
import { describeDatabaseError, isQueryCancelled, isTransient } from '../../../receiver/model/database-errors.js';

describe('error classification', () => {
  const serverError = (code: string) => Object.assign(new Error(`server says ${code}`), { code, severity: 'ERROR' });
  const systemError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -1, syscall: 'connect' });

  it.each([
    ['connection refused', systemError('ECONNREFUSED'), true],
    ['connection reset', systemError('ECONNRESET'), true],
    ['broken pipe', systemError('EPIPE'), true],
    ['timed out', systemError('ETIMEDOUT'), true],
    ['connection terminated', new Error('Connection terminated unexpectedly'), true],
    ['pool timeout', new Error('timeout exceeded when trying to connect'), true],
    ['query timeout', new Error('Query read timeout'), true],
    ['connection failure 08006', serverError('08006'), true],
    ['too many connections 53300', serverError('53300'), true],
    ['disk full 53100', serverError('53100'), true],
    ['admin shutdown 57P01', serverError('57P01'), true],
    ['query canceled 57014', serverError('57014'), true],
    ['serialization failure 40001', serverError('40001'), true],
    ['deadlock 40P01', serverError('40P01'), true],
    ['lock not available 55P03', serverError('55P03'), true],
    ['insufficient privilege 42501 (the operator fixes it)', serverError('42501'), true],
    ['unknown server error XX000', serverError('XX000'), true],
    ['something unknown', 'a string', true],
    ['invalid text 22P02', serverError('22P02'), false],
    ['NUL byte 22021', serverError('22021'), false],
    ['unique violation 23505', serverError('23505'), false],
    ['not null violation 23502', serverError('23502'), false],
    ['no partition for the row 23514', serverError('23514'), false],
    ['syntax error 42601', serverError('42601'), false],
    ['undefined column 42703', serverError('42703'), false],
    ['cardinality violation 21000', serverError('21000'), false],
    ['index row too large 54000', serverError('54000'), false],
  ])('%s is transient: %s', (_name, err, transient) => {
    expect(isTransient(err)).toBe(transient);
  });

  it('tells a statement the server cancelled (57014) from client-side timeouts and other errors', () => {
    expect(isQueryCancelled(serverError('57014'))).toBe(true);
    // A system error's code is no SQLSTATE, and pg's client-side timeout is not the server's cancel.
    expect(isQueryCancelled(Object.assign(new Error('x'), { code: '57014' }))).toBe(false);
    expect(isQueryCancelled(new Error('Query read timeout'))).toBe(false);
    expect(isQueryCancelled(serverError('57P01'))).toBe(false);
  });

  it('describes an error in one short line', () => {
    expect(describeDatabaseError(Object.assign(new Error('duplicate key value'), { code: '23505', severity: 'ERROR' }))).toBe(
      'duplicate key value (SQLSTATE 23505)',
    );
    expect(describeDatabaseError(new AggregateError([systemError('ECONNREFUSED')], ''))).toBe('connect ECONNREFUSED 127.0.0.1:5432');
    expect(describeDatabaseError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('socket hang up (ECONNRESET)');
    expect(describeDatabaseError(new Error('line one\n  line two'))).toBe('line one line two');
    expect(describeDatabaseError(new Error('x'.repeat(1000))).length).toBeLessThanOrEqual(200);
    expect(describeDatabaseError(undefined)).toBe('undefined');
  });
});
