/**
 * bench:query's lineage plan: an estate whose graphs have depth, fan-in and fan-out, with the busiest
 * pipeline in the middle of its chains.
 */
import { describe, expect, it } from 'vitest';
import { datasetName } from '../../contract/dataset-name.js';
import { planLineage } from '../../bench/query-lineage.js';
import { pipelines, random } from '../../bench/query-world.js';

const all = pipelines(random(10));
const plan = planLineage(all);
const writes = (i: number) => plan[i]!.outputs.map(datasetName);

/** Pipelines by index reading any of `datasets`, in the same tenant. */
function readersOf(tenant: number, datasets: string[]): number[] {
  return all.flatMap((p, i) => (p.tenant === tenant && plan[i]!.inputs.some((input) => datasets.includes(input)) ? [i] : []));
}

describe('planLineage', () => {
  it('is the same every time', () => {
    expect(planLineage(pipelines(random(10)))).toEqual(plan);
  });

  it('names a few hundred datasets, some written by two pipelines and some read by many', () => {
    const written = new Map<string, number>();
    const read = new Map<string, number>();
    for (const [i, lineage] of plan.entries()) {
      for (const name of writes(i)) written.set(`${all[i]!.tenant} ${name}`, (written.get(`${all[i]!.tenant} ${name}`) ?? 0) + 1);
      for (const name of lineage.inputs) read.set(`${all[i]!.tenant} ${name}`, (read.get(`${all[i]!.tenant} ${name}`) ?? 0) + 1);
    }
    const datasets = new Set([...written.keys(), ...read.keys()]);
    expect(datasets.size).toBeGreaterThan(200);
    expect(datasets.size).toBeLessThan(1000);
    expect(Math.max(...written.values())).toBeGreaterThanOrEqual(2);
    expect(Math.max(...read.values())).toBeGreaterThanOrEqual(5);
    expect(plan.some((lineage) => lineage.inputs.length > 1)).toBe(true);
    expect(new Set(plan.map((lineage) => lineage.declared))).toEqual(new Set(['run', 'stages']));
  });

  it('puts the busiest pipeline in the middle of chains: written by ingest upstream, read by reports whose files exports read', () => {
    const busiest = plan[0]!;
    const tenant = all[0]!.tenant;
    expect(busiest.layer).toBe('loader');
    const upstream = all.flatMap((p, i) => (p.tenant === tenant && writes(i).some((name) => busiest.inputs.includes(name)) ? [plan[i]!.layer] : []));
    expect(upstream.length).toBeGreaterThan(0);
    expect(new Set(upstream)).toEqual(new Set(['ingest']));
    const reports = readersOf(tenant, writes(0));
    expect(reports.length).toBeGreaterThan(3);
    const exports = readersOf(tenant, reports.flatMap(writes));
    expect(exports.length).toBeGreaterThan(0);
    expect(new Set(exports.map((i) => plan[i]!.layer))).toEqual(new Set(['export']));
  });
});
