/**
 * A size-bounded, secret-masking preview of any value, for arguments and results of monitored
 * functions and for attributes. It never throws (throwing getters, revoked proxies, hostile toString)
 * and never walks more than it prints: output stops at `maxRepr` characters, `maxItems` entries per
 * container and `maxDepth` levels, so a 1 GB array costs the same as a 10-element one.
 */
import type { AttributeValue } from '@opentelemetry/api';
import type { AnyValue } from '@opentelemetry/api-logs';
import { DEFAULT_SENSITIVE, MASK, PREVIEW_LIMITS } from '../../contract/record-rules.js';

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

const TYPED_ARRAY = Object.getPrototypeOf(Int8Array);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

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

interface Limits {
  maxRepr: number;
  maxItems: number;
  maxDepth: number;
  sensitive: (key: string) => boolean;
}

function limitsOf(options: SerializeOptions): Limits {
  return {
    maxRepr: options.maxRepr ?? PREVIEW_LIMITS.maxRepr,
    maxItems: options.maxItems ?? PREVIEW_LIMITS.maxItems,
    maxDepth: options.maxDepth ?? PREVIEW_LIMITS.maxDepth,
    sensitive: options.sensitiveFields ? matcher(options.sensitiveFields) : isSensitiveKey,
  };
}

/**
 * One serialization. A class rather than closures made per call, and the ancestors as an array rather
 * than a Set: monitored() previews arguments and results on every sampled call, and this took the
 * preview of `[i, 1]` from 380 to 233 ns.
 */
class Preview {
  out = '';
  /** The containers being written, outermost first: a value met again among them is circular. */
  private readonly path: object[] = [];

  constructor(private readonly limits: Limits) {}

  write(text: string): void {
    if (this.out.length + text.length > this.limits.maxRepr) {
      this.out += text.slice(0, Math.max(0, this.limits.maxRepr - this.out.length));
      throw FULL;
    }
    this.out += text;
  }

  private more(n: number): void {
    this.write(`, …+${n} more`);
  }

  private member(key: string, child: unknown, depth: number): void {
    this.write(IDENTIFIER.test(key) ? key : JSON.stringify(key));
    this.write(': ');
    if (this.limits.sensitive(key)) this.write(JSON.stringify(MASK));
    else this.visit(child, depth + 1);
  }

  visit(v: unknown, depth: number): void {
    const { maxRepr, maxItems, maxDepth } = this.limits;
    switch (typeof v) {
      case 'string':
        this.write(JSON.stringify(v.length > maxRepr ? v.slice(0, maxRepr) : v));
        return;
      case 'number':
      case 'boolean':
      case 'undefined':
        this.write(String(v));
        return;
      case 'bigint':
        this.write(`${v}n`);
        return;
      case 'symbol':
        this.write(v.toString());
        return;
      case 'function':
        this.write(`[Function ${v.name || 'anonymous'}]`);
        return;
    }
    if (v === null) {
      this.write('null');
      return;
    }
    const obj = v as object;
    if (this.path.includes(obj)) {
      this.write('[Circular]');
      return;
    }
    try {
      if (v instanceof Date) {
        this.write(Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString());
        return;
      }
      if (v instanceof Error) {
        this.write(`${className(v) ?? 'Error'}: ${JSON.stringify(String(v.message))}`);
        return;
      }
      if (Buffer.isBuffer(v)) {
        this.write(`<Buffer ${v.length} bytes>`);
        return;
      }
      if (v instanceof TYPED_ARRAY) {
        const typed = v as unknown as { length: number; [i: number]: number | bigint };
        this.write(`${className(obj) ?? 'TypedArray'}(${typed.length}) [`);
        const shown = Math.min(typed.length, maxItems);
        for (let i = 0; i < shown; i++) this.write(`${i > 0 ? ', ' : ''}${typed[i]}`);
        if (typed.length > shown) this.more(typed.length - shown);
        this.write(']');
        return;
      }
      if (v instanceof ArrayBuffer) {
        this.write(`ArrayBuffer(${v.byteLength})`);
        return;
      }
      if (typeof (v as { then?: unknown }).then === 'function') {
        this.write(`<${className(obj) ?? 'Promise'}>`);
        return;
      }
      const isArray = Array.isArray(v);
      if (depth >= maxDepth) {
        this.write(isArray ? `[Array(${(v as unknown[]).length})]` : `<${className(obj) ?? 'Object'}>`);
        return;
      }
      this.path.push(obj);
      try {
        if (isArray) this.array(v as unknown[], depth);
        else if (v instanceof Map) this.map(v, depth);
        else if (v instanceof Set) this.set(v, depth);
        else this.object(obj, depth);
      } finally {
        this.path.pop();
      }
    } catch (error) {
      if (error === FULL) throw error;
      this.write('[Unserializable]');
    }
  }

  private array(array: unknown[], depth: number): void {
    this.write('[');
    const shown = Math.min(array.length, this.limits.maxItems);
    for (let i = 0; i < shown; i++) {
      if (i > 0) this.write(', ');
      this.visit(array[i], depth + 1);
    }
    if (array.length > shown) this.more(array.length - shown);
    this.write(']');
  }

  private map(map: Map<unknown, unknown>, depth: number): void {
    this.write(`Map(${map.size}) {`);
    let i = 0;
    for (const [key, child] of map) {
      if (i >= this.limits.maxItems) {
        this.more(map.size - i);
        break;
      }
      if (i > 0) this.write(', ');
      this.visit(key, depth + 1);
      this.write(' => ');
      if (typeof key === 'string' && this.limits.sensitive(key)) this.write(JSON.stringify(MASK));
      else this.visit(child, depth + 1);
      i++;
    }
    this.write('}');
  }

  private set(set: Set<unknown>, depth: number): void {
    this.write(`Set(${set.size}) {`);
    let i = 0;
    for (const child of set) {
      if (i >= this.limits.maxItems) {
        this.more(set.size - i);
        break;
      }
      if (i > 0) this.write(', ');
      this.visit(child, depth + 1);
      i++;
    }
    this.write('}');
  }

  private object(obj: object, depth: number): void {
    const name = className(obj);
    if (name !== 'Object') this.write(`${name ?? 'Object'} `);
    const keys = Object.keys(obj);
    this.write('{');
    const shown = Math.min(keys.length, this.limits.maxItems);
    for (let i = 0; i < shown; i++) {
      const key = keys[i]!;
      let child: unknown;
      try {
        child = (obj as Record<string, unknown>)[key];
      } catch {
        child = '[Throws]';
      }
      if (i > 0) this.write(', ');
      this.member(key, child, depth);
    }
    if (keys.length > shown) this.more(keys.length - shown);
    this.write('}');
  }
}

function preview(limits: Limits, value: unknown): string {
  const p = new Preview(limits);
  try {
    p.visit(value, 0);
    return p.out;
  } catch (error) {
    // Full: the budget is spent; anything else (a Proxy that throws everywhere) still gives a string.
    return error === FULL ? `${p.out}…` : p.out || '[Unserializable]';
  }
}

export function serialize(value: unknown, options: SerializeOptions = {}): string {
  return preview(limitsOf(options), value);
}

/** serialize() with its options resolved once, for a caller that previews on every call (monitored()). */
export function createSerializer(options: SerializeOptions = {}): (value: unknown) => string {
  const limits = limitsOf(options);
  return (value) => preview(limits, value);
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
