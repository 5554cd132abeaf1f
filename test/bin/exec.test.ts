import { describe, expect, it } from 'vitest';
import { parseExecArgs, parseInterval } from '../../bin/exec.js';

describe('pipemon exec arguments', () => {
  it('leaves the command\'s own flags alone, with or without --', () => {
    expect(parseExecArgs(['--pipeline', 'p', '--', 'python', '-u', 'job.py'])).toEqual({ pipeline: 'p', command: ['python', '-u', 'job.py'] });
    expect(parseExecArgs(['--stage=load', 'node', '-e', 'x', '--pipeline', 'q'])).toEqual({ stage: 'load', command: ['node', '-e', 'x', '--pipeline', 'q'] });
    expect(() => parseExecArgs(['--run-id'])).toThrow('--run-id needs a value');
  });

  it('refuses an option it does not know before the command, and takes --help and -h there only', () => {
    expect(() => parseExecArgs(['--pipelin', 'x', '--', 'true'])).toThrow(/unknown option "--pipelin".*go after --/);
    expect(() => parseExecArgs(['-p', 'x', 'true'])).toThrow(/unknown option "-p"/);
    expect(parseExecArgs(['--help'])).toEqual({ help: true, command: [] });
    expect(parseExecArgs(['--pipeline', 'p', '-h'])).toEqual({ help: true, command: [] });
    // After -- or the command's first word, --help is the command's.
    expect(parseExecArgs(['--', 'tool', '--help'])).toEqual({ command: ['tool', '--help'] });
    expect(parseExecArgs(['tool', '--help'])).toEqual({ command: ['tool', '--help'] });
  });

  it('takes --allow-failure with a stage only, and no value', () => {
    expect(parseExecArgs(['--stage', 'enrich', '--allow-failure', 'job'])).toEqual({ stage: 'enrich', allowFailure: true, command: ['job'] });
    expect(() => parseExecArgs(['--allow-failure', 'job'])).toThrow(/name the stage with --stage NAME/);
    expect(() => parseExecArgs(['--stage', 'enrich', '--allow-failure=yes', 'job'])).toThrow('--allow-failure takes no value');
  });

  it('takes each --input and --output as one more dataset, and refuses an empty one', () => {
    expect(parseExecArgs(['--input', 'postgres://shop:5432/shop.public.orders', '--output=s3://lake/orders', '--input', 'file:///tmp/rates.csv', 'job'])).toEqual({
      inputs: ['postgres://shop:5432/shop.public.orders', 'file:///tmp/rates.csv'],
      outputs: ['s3://lake/orders'],
      command: ['job'],
    });
    expect(() => parseExecArgs(['--output=', 'job'])).toThrow('--output needs a dataset name, such as postgres://db:5432/shop.public.orders');
  });

  it('takes an owner and an expected interval in seconds or with a unit, and refuses other intervals', () => {
    expect(parseExecArgs(['--owner', 'team-data', '--expected-interval=1h', 'job'])).toEqual({
      owner: 'team-data',
      expectedIntervalSeconds: 3600,
      command: ['job'],
    });
    expect(['90', '90s', '15m', '1h', '1.5d'].map(parseInterval)).toEqual([90, 90, 900, 3600, 129_600]);
    for (const bad of ['0', '-5m', 'hourly', '1w', '']) {
      expect(() => parseInterval(bad)).toThrow(/--expected-interval must be a positive duration such as 90s, 15m, 1h or 1d/);
    }
    expect(() => parseExecArgs(['--expected-interval', 'daily', 'job'])).toThrow(/got "daily"/);
  });
});
