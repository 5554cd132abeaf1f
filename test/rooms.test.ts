/**
 * The rooms stack: every import of the project's TypeScript points down, to a room below, never up and
 * never in a circle, so that a newcomer can read a room knowing only the rooms under it. A room is a
 * top-level folder; inside one, a folder and the files beside it must not import each other both ways.
 * Imports are read with TypeScript's own pre-processor, so comments and strings do not count.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/repo.js';

/** What each room may import, besides itself: the ground floor first, the tests last. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  contract: [],
  sdk: ['contract'],
  receiver: ['contract'],
  dashboards: ['contract'],
  // Browser code, compiled alone (tsconfig.web.json): what it shares with the receiver is generated into it.
  web: [],
  demo: ['contract', 'sdk'],
  bin: ['contract', 'sdk', 'receiver', 'dashboards', 'demo'],
  // Servers and records that the tests and the benchmarks both start and send.
  harness: ['contract', 'sdk', 'receiver'],
  bench: ['contract', 'sdk', 'receiver', 'dashboards', 'harness'],
  test: ['contract', 'sdk', 'receiver', 'dashboards', 'web', 'demo', 'bin', 'harness', 'bench'],
};

interface Import {
  from: string;
  to: string;
}

function projectImports(): Import[] {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '*.ts', '*.mts'], { cwd: REPO, encoding: 'utf8' })
    .split('\n')
    .filter((file) => file !== '' && !file.startsWith('python/') && fs.existsSync(path.join(REPO, file)));
  return files.flatMap((from) =>
    ts
      .preProcessFile(fs.readFileSync(path.join(REPO, from), 'utf8'), true, true)
      .importedFiles.map((ref) => ref.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => ({ from, to: path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(/\.js$/, '.ts') })),
  );
}

const roomOf = (file: string) => file.split('/')[0]!;

/** Within a room, a file counts as its folder. */
const folderOf = (file: string) => path.posix.dirname(file);

/** The cycles of a graph (Tarjan's strongly connected components of more than one node). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (stack.includes(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      component.push(member);
    } while (member !== node);
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return found;
}

function graphOf(imports: Import[], nodeOf: (file: string) => string): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    const [a, b] = [nodeOf(from), nodeOf(to)];
    if (a === b) continue;
    if (!edges.has(a)) edges.set(a, new Set());
    edges.get(a)!.add(b);
  }
  return edges;
}

describe('the rooms', () => {
  const imports = projectImports();

  it('are all known: a new top-level folder of TypeScript gets its place in MAY_IMPORT', () => {
    const rooms = new Set(imports.flatMap(({ from, to }) => [roomOf(from), roomOf(to)]));
    rooms.delete('vitest.config.ts');
    expect([...rooms].filter((room) => !(room in MAY_IMPORT))).toEqual([]);
  });

  it('import only the rooms below them', () => {
    const upward = imports
      .filter(({ from, to }) => roomOf(from) !== roomOf(to) && !(MAY_IMPORT[roomOf(from)] ?? []).includes(roomOf(to)))
      .map(({ from, to }) => `${from} imports ${to}`);
    expect(upward).toEqual([]);
  });

  it('have no import cycle between files', () => {
    expect(cycles(graphOf(imports, (file) => file))).toEqual([]);
  });

  it('have no two folders that import each other, directly or around a circle', () => {
    expect(cycles(graphOf(imports, folderOf))).toEqual([]);
  });

  it('are the ones docs/development.md shows a reader, each with what it may import', () => {
    const doc = fs.readFileSync(path.join(REPO, 'docs/development.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z]+)\/[^`]*` \|.*\| ([^|]+) \|$/gm)];
    const shown = rows.map(([, room, imports]) => [
      room,
      (imports!.trim() === 'everything' ? Object.keys(MAY_IMPORT).filter((other) => other !== room) : [...imports!.matchAll(/`([a-z]+)\/`/g)].map((m) => m[1]!)).sort(),
    ]);
    expect(Object.fromEntries(shown)).toEqual(Object.fromEntries(Object.entries(MAY_IMPORT).map(([room, may]) => [room, [...may].sort()])));
  });

  it('finds the cycles and upward imports it is meant to find', () => {
    const circle = graphOf(
      [
        { from: 'receiver/a/x.ts', to: 'receiver/b/y.ts' },
        { from: 'receiver/b/y.ts', to: 'receiver/z.ts' },
        { from: 'receiver/z.ts', to: 'receiver/a/w.ts' },
        { from: 'receiver/a/w.ts', to: 'contract/v.ts' },
      ],
      folderOf,
    );
    expect(cycles(circle)).toEqual([['receiver', 'receiver/a', 'receiver/b']]);
    expect(MAY_IMPORT.receiver).not.toContain('dashboards');
    expect(MAY_IMPORT.contract).toEqual([]);
  });
});
