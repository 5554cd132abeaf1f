import { describe, expect, it } from 'vitest';
import { callNamer } from '../../../sdk/monitored/call-name.js';

describe('call names', () => {
  class Loader {}

  it('names a method called on a class instance Class.method, and a plain call by the function', () => {
    const nameOf = callNamer(function load() {});
    expect(nameOf(new Loader())).toBe('Loader.load');
    expect(nameOf(undefined)).toBe('load');
    expect(nameOf({ load: 1 })).toBe('load');
    expect(nameOf(function host() {})).toBe('load');
    expect(nameOf(Object.create(null))).toBe('load');
  });

  it('uses the name given for every call, and "anonymous" for a function with none', () => {
    expect(callNamer(function load() {}, 'etl.load')(new Loader())).toBe('etl.load');
    expect(callNamer({ name: '' })(undefined)).toBe('anonymous');
  });
});
