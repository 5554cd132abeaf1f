/**
 * TypeScript types written from JSON Schemas, for the subset the API's schemas use (schemas.ts, params.ts):
 * $ref, const, enum, anyOf, oneOf, the JSON types, arrays and objects. Keywords that only narrow a value
 * (a pattern, a format, a bound) have no TypeScript form and are left out; any other keyword is refused,
 * so that a schema the types cannot follow fails the generator instead of being typed loosely.
 */
import type { JsonSchema } from './params.js';

/** Keywords that describe or narrow a value without changing its TypeScript type. */
const NARROWING = ['description', 'format', 'pattern', 'minimum', 'maximum', 'maxLength', 'minItems', 'maxItems'];
const TYPING = ['$ref', 'const', 'enum', 'anyOf', 'oneOf', 'type', 'items', 'properties', 'required', 'additionalProperties'];

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A TypeScript type for `schema`; nested object types are indented under `indent`. */
export function typeOf(schema: JsonSchema, indent = ''): string {
  refuseUnknownKeywords(schema);
  if (typeof schema.$ref === 'string') return schema.$ref.slice(schema.$ref.lastIndexOf('/') + 1);
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  const members = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (members) return members.map((member) => typeOf(member, indent)).join(' | ');
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return schema.items ? arrayOf(schema.items as JsonSchema, indent) : 'unknown[]';
    case 'object':
      return objectType(schema, indent);
    case undefined:
      return 'unknown';
    default:
      throw new Error(`JSON Schema type ${JSON.stringify(schema.type)} has no TypeScript form here: add it to schema-typescript.ts`);
  }
}

function refuseUnknownKeywords(schema: JsonSchema): void {
  const unknown = Object.keys(schema).filter((keyword) => !NARROWING.includes(keyword) && !TYPING.includes(keyword));
  if (unknown.length > 0) {
    throw new Error(`JSON Schema keyword ${unknown.join(', ')} in ${JSON.stringify(schema)} has no TypeScript form here: add it to schema-typescript.ts`);
  }
}

function arrayOf(items: JsonSchema, indent: string): string {
  const element = typeOf(items, indent);
  const union = Boolean(items.anyOf ?? items.oneOf) || (Array.isArray(items.enum) && items.enum.length > 1);
  return union ? `(${element})[]` : `${element}[]`;
}

/** An object's listed properties, optional unless required; one open to others gets an index signature. */
function objectType(schema: JsonSchema, indent: string): string {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const names = Object.keys(properties);
  if (names.length === 0) return schema.additionalProperties === false ? 'Record<string, never>' : 'Record<string, unknown>';
  const required = new Set((schema.required ?? []) as string[]);
  const inner = `${indent}  `;
  const lines = names.map((name) => {
    const key = IDENTIFIER.test(name) ? name : JSON.stringify(name);
    return `${docComment(properties[name]!, inner)}${inner}${key}${required.has(name) ? '' : '?'}: ${typeOf(properties[name]!, inner)};`;
  });
  if (schema.additionalProperties === true) lines.push(`${inner}[name: string]: unknown;`);
  return `{\n${lines.join('\n')}\n${indent}}`;
}

/** The schema's description as a doc comment, or that of the member a nullable wraps; '' without one. */
export function docComment(schema: JsonSchema, indent: string): string {
  const members = (schema.anyOf ?? schema.oneOf ?? []) as JsonSchema[];
  const description = [schema, ...members].map((s) => s.description).find((d) => typeof d === 'string') as string | undefined;
  return description ? `${indent}/** ${description.replaceAll('*/', '*\\/')} */\n` : '';
}

/** `export interface` for an object with properties, `export type` for anything else. */
export function declaration(name: string, schema: JsonSchema): string {
  const type = typeOf(schema);
  const kind = schema.type === 'object' && type.startsWith('{') ? `export interface ${name} ${type}` : `export type ${name} = ${type};`;
  return `${docComment(schema, '')}${kind}`;
}
