/** JSON Schemas of the subset the API uses, written as TypeScript types. */
import { describe, expect, it } from 'vitest';
import { declaration, typeOf } from '../../../receiver/http/schema-typescript.js';

describe('typeOf', () => {
  it('writes the JSON types, references, constants and enums', () => {
    expect(typeOf({ type: 'string', format: 'date-time' })).toBe('string');
    expect(typeOf({ type: 'integer', minimum: 0 })).toBe('number');
    expect(typeOf({ type: 'boolean' })).toBe('boolean');
    expect(typeOf({ $ref: '#/components/schemas/RunPage' })).toBe('RunPage');
    expect(typeOf({ const: 'created' })).toBe('"created"');
    expect(typeOf({ type: 'string', enum: ['running', 'ended'] })).toBe('"running" | "ended"');
    expect(typeOf({})).toBe('unknown');
  });

  it('writes a nullable as a union, and parenthesises a union of array items', () => {
    expect(typeOf({ anyOf: [{ type: 'string' }, { type: 'null' }] })).toBe('string | null');
    expect(typeOf({ type: 'array', items: { anyOf: [{ type: 'number' }, { type: 'null' }] } })).toBe('(number | null)[]');
    expect(typeOf({ type: 'array', items: { type: 'string' } })).toBe('string[]');
    expect(typeOf({ type: 'array' })).toBe('unknown[]');
  });

  it('marks unrequired properties optional, documents them, and opens an object that allows others', () => {
    const type = typeOf({
      type: 'object',
      properties: { id: { type: 'string' }, rate: { anyOf: [{ type: 'number', description: 'Over ended runs.' }, { type: 'null' }] } },
      required: ['id'],
      additionalProperties: true,
    });
    expect(type).toBe('{\n  id: string;\n  /** Over ended runs. */\n  rate?: number | null;\n  [name: string]: unknown;\n}');
  });

  it('writes an object without properties as a record: of anything, or of nothing when closed', () => {
    expect(typeOf({ type: 'object', additionalProperties: true })).toBe('Record<string, unknown>');
    expect(typeOf({ type: 'object', properties: {}, additionalProperties: false })).toBe('Record<string, never>');
  });

  it('refuses what it cannot type, naming the keyword and where to add it', () => {
    expect(() => typeOf({ type: 'string', if: {} })).toThrow(/keyword if .*schema-typescript\.ts/);
    expect(() => typeOf({ type: ['string', 'null'] })).toThrow(/type \["string","null"\] .*schema-typescript\.ts/);
  });
});

describe('declaration', () => {
  it('declares an object as an interface and anything else as a type, with its description', () => {
    expect(declaration('Health', { type: 'object', description: 'Alive.', properties: { status: { type: 'string' } }, required: ['status'] })).toBe(
      '/** Alive. */\nexport interface Health {\n  status: string;\n}',
    );
    expect(declaration('Id', { type: 'string' })).toBe('export type Id = string;');
  });
});
