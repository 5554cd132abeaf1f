/**
 * A size-bounded, secret-masking preview of any value, for arguments and results of monitored
 * functions and for attributes. It never throws (throwing getters, revoked proxies, hostile toString)
 * and never walks more than it prints: output stops at `maxRepr` characters, `maxItems` entries per
 * container and `maxDepth` levels, so a 1 GB array costs the same as a 10-element one.
 */
import type { AttributeValue } from '@opentelemetry/api';
import type { AnyValue } from '@opentelemetry/api-logs';

export interface SerializeOptions {
  /** Longest output in characters (default 1000); longer is cut and ends with "…". */
  maxRepr?: number;
  /** Entries shown per array, object, Map or Set (default 10). */
  maxItems?: number;
  /** Nesting shown (default 4); deeper containers show as their type. */
  maxDepth?: number;
  /** Extra key names (or fragments) to mask, beside the defaults. */
  sensitiveFields?: readonly string[];
}

export const MASK = '***';

/** Key fragments masked by default, compared without case, '-' or '_'. */
export const DEFAULT_SENSITIVE = [
  'password',
  'passwd',
  'pwd',
  'secret',
  'token',
  'apikey',
  'authorization',
  'auth',
  'cookie',
  'credential',
  'privatekey',
  'accesskey',
  'session',
  'signature',
  'connectionstring',
] as const;

const normalize = (key: string) => key.toLowerCase().replace(/[-_\s.]/g, '');

const MEMO_LIMIT = 4096;

function matcher(extra: readonly string[] | undefined): (key: string) => boolean {
  const fragments = [...DEFAULT_SENSITIVE, ...(extra ?? []).map(normalize)];
  // Attribute keys repeat on every record; normalizing each one with a regex doubled the cost of a
  // log record in bench/sdk.ts, so answers are remembered (bounded: keys built from data stay cheap).
  const memo = new Map<string, boolean>();
  return (key) => {
    let answer = memo.get(key);
    if (answer === undefined) {
      const k = normalize(key);
      answer = fragments.some((fragment) => k.includes(fragment));
      if (memo.size < MEMO_LIMIT) memo.set(key, answer);
    }
    return answer;
  };
}

export const isSensitiveKey = matcher(undefined);

/** Ends serialization early once the budget is spent. */
class Full {}
const FULL = new Full();

class Writer {
  out = '';
  constructor(private readonly max: number) {}
  write(text: string): void {
    if (this.out.length + text.length > this.max) {
      this.out += text.slice(0, Math.max(0, this.max - this.out.length));
      throw FULL;
    }
    this.out += text;
  }
}

const TYPED_ARRAY = Object.getPrototypeOf(Int8Array);

function className(value: object): string | null {
  try {
    const proto = Object.getPrototypeOf(value);
    if (proto === null) return 'Object';
    const name = proto.constructor?.name;
    return typeof name === 'string' && name !== '' ? name : null;
  } catch {
    return null;
  }
}

export function serialize(value: unknown, options: SerializeOptions = {}): string {
  const maxRepr = options.maxRepr ?? 1000;
  const maxItems = options.maxItems ?? 10;
  const maxDepth = options.maxDepth ?? 4;
  const sensitive = options.sensitiveFields ? matcher(options.sensitiveFields) : isSensitiveKey;
  const w = new Writer(maxRepr);
  const seen = new Set<object>();

  const more = (n: number) => w.write(`, …+${n} more`);

  const entries = (pairs: Iterable<[string, unknown]>, total: number, depth: number) => {
    let i = 0;
    for (const [key, child] of pairs) {
      if (i >= maxItems) {
        more(total - i);
        break;
      }
      if (i > 0) w.write(', ');
      w.write(/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key));
      w.write(': ');
      if (sensitive(key)) w.write(JSON.stringify(MASK));
      else visit(child, depth + 1);
      i++;
    }
  };

  const visit = (v: unknown, depth: number): void => {
    switch (typeof v) {
      case 'string':
        w.write(JSON.stringify(v.length > maxRepr ? v.slice(0, maxRepr) : v));
        return;
      case 'number':
      case 'boolean':
      case 'undefined':
        w.write(String(v));
        return;
      case 'bigint':
        w.write(`${v}n`);
        return;
      case 'symbol':
        w.write(v.toString());
        return;
      case 'function':
        w.write(`[Function ${v.name || 'anonymous'}]`);
        return;
    }
    if (v === null) {
      w.write('null');
      return;
    }
    const obj = v as object;
    if (seen.has(obj)) {
      w.write('[Circular]');
      return;
    }
    try {
      if (v instanceof Date) {
        w.write(Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString());
        return;
      }
      if (v instanceof Error) {
        w.write(`${className(v) ?? 'Error'}: ${JSON.stringify(String(v.message))}`);
        return;
      }
      if (Buffer.isBuffer(v)) {
        w.write(`<Buffer ${v.length} bytes>`);
        return;
      }
      if (v instanceof TYPED_ARRAY) {
        const typed = v as unknown as { length: number; [i: number]: number | bigint };
        w.write(`${className(obj) ?? 'TypedArray'}(${typed.length}) [`);
        const shown = Math.min(typed.length, maxItems);
        for (let i = 0; i < shown; i++) w.write(`${i > 0 ? ', ' : ''}${typed[i]}`);
        if (typed.length > shown) more(typed.length - shown);
        w.write(']');
        return;
      }
      if (v instanceof ArrayBuffer) {
        w.write(`ArrayBuffer(${v.byteLength})`);
        return;
      }
      if (typeof (v as { then?: unknown }).then === 'function') {
        w.write(`<${className(obj) ?? 'Promise'}>`);
        return;
      }
      const isArray = Array.isArray(v);
      if (depth >= maxDepth) {
        w.write(isArray ? `[Array(${(v as unknown[]).length})]` : `<${className(obj) ?? 'Object'}>`);
        return;
      }
      seen.add(obj);
      try {
        if (isArray) {
          const array = v as unknown[];
          w.write('[');
          const shown = Math.min(array.length, maxItems);
          for (let i = 0; i < shown; i++) {
            if (i > 0) w.write(', ');
            visit(array[i], depth + 1);
          }
          if (array.length > shown) more(array.length - shown);
          w.write(']');
        } else if (v instanceof Map) {
          w.write(`Map(${v.size}) {`);
          let i = 0;
          for (const [key, child] of v) {
            if (i >= maxItems) {
              more(v.size - i);
              break;
            }
            if (i > 0) w.write(', ');
            visit(key, depth + 1);
            w.write(' => ');
            if (typeof key === 'string' && sensitive(key)) w.write(JSON.stringify(MASK));
            else visit(child, depth + 1);
            i++;
          }
          w.write('}');
        } else if (v instanceof Set) {
          w.write(`Set(${v.size}) {`);
          let i = 0;
          for (const child of v) {
            if (i >= maxItems) {
              more(v.size - i);
              break;
            }
            if (i > 0) w.write(', ');
            visit(child, depth + 1);
            i++;
          }
          w.write('}');
        } else {
          const name = className(obj);
          if (name !== 'Object') w.write(`${name ?? 'Object'} `);
          const keys = Object.keys(obj);
          w.write('{');
          entries(
            (function* () {
              for (const key of keys.slice(0, maxItems + 1)) {
                let child: unknown;
                try {
                  child = (obj as Record<string, unknown>)[key];
                } catch {
                  child = '[Throws]';
                }
                yield [key, child] as [string, unknown];
              }
            })(),
            keys.length,
            depth,
          );
          w.write('}');
        }
      } finally {
        seen.delete(obj);
      }
    } catch (error) {
      if (error === FULL) throw error;
      w.write('[Unserializable]');
    }
  };

  try {
    visit(value, 0);
    return w.out;
  } catch (error) {
    // Full: the budget is spent; anything else (a Proxy that throws everywhere) still gives a string.
    return error === FULL ? `${w.out}…` : w.out || '[Unserializable]';
  }
}

/** A span attribute from any value: primitives and primitive arrays as they are, the rest as a preview. */
export function toAttributeValue(value: unknown, options?: SerializeOptions): AttributeValue | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.length <= 100 && value.every((x) => typeof x === 'string') ) return value as string[];
  if (Array.isArray(value) && value.length <= 100 && value.every((x) => typeof x === 'number')) return value as number[];
  return serialize(value, options);
}

/** A log attribute value: like a span attribute, since previews keep records bounded and JSON-safe. */
export function toLogValue(value: unknown, options?: SerializeOptions): AnyValue {
  return toAttributeValue(value, options) ?? null;
}
