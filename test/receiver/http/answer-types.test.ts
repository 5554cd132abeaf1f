/**
 * The API's answer types are generated from the JSON Schemas and the route table (receiver/http/answer-types.ts)
 * into the web view and the query functions: each committed copy must be what the generator writes now,
 * so that neither the pages nor the query functions can drift from the OpenAPI document.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ANSWER_TYPE_FILES, answerTypes } from '../../../receiver/http/answer-types.js';
import { ROUTES } from '../../../receiver/http/routes.js';
import { SCHEMAS } from '../../../receiver/http/schemas.js';

const ROOT = new URL('../../../', import.meta.url);

describe('generated answer types', () => {
  it.each(ANSWER_TYPE_FILES)('%s is what receiver/http/answer-types.ts generates (regenerate: npm run build && node dist/receiver/http/answer-types.js)', (file) => {
    expect(fs.readFileSync(new URL(file, ROOT), 'utf8')).toBe(answerTypes());
  });

  it('declare every answer schema and name it in Answers', () => {
    const text = answerTypes();
    for (const name of Object.keys(SCHEMAS)) {
      expect(text).toMatch(new RegExp(`^export (interface|type) ${name}\\b`, 'm'));
      expect(text).toContain(`  ${name}: ${name};`);
    }
  });

  it('give every GET route its answer, and no other method', () => {
    const text = answerTypes();
    for (const route of ROUTES) {
      const entry = `  "/api/v1${route.path}": {`;
      const block = text.includes(entry) ? text.slice(text.indexOf(entry), text.indexOf('\n  };', text.indexOf(entry))) : '';
      if (route.method === 'get') expect(block).toContain(`\n    answer: ${route.response};`);
      else if (!ROUTES.some((other) => other.method === 'get' && other.path === route.path)) expect(text).not.toContain(entry);
    }
  });
});
