/**
 * The statecharts `thpsim export chart` knows, by name: the registered object charts
 * (struct page, pmd entry, mm_struct, huge tmpfs team head, with what extensions added:
 * src/object_charts.ts) and every registered actor kind's task chart (by kind, or by the
 * chart's own id where it differs).
 */
import '../builtins.ts';
import { allActorKinds } from '../registry.ts';
import { allObjectCharts } from '../object_charts.ts';
import type { ChartSource } from './chart.ts';

export interface NamedChart {
  name: string;
  source: ChartSource;
}

export function namedCharts(): NamedChart[] {
  const out: NamedChart[] = allObjectCharts().map(({ def }) => ({ name: def.id, source: { kind: 'object', def } }));
  for (const k of allActorKinds()) {
    out.push({ name: k.kind, source: { kind: 'task', def: k.chart } });
    if (k.chart.id !== k.kind && !out.some((c) => c.name === k.chart.id)) out.push({ name: k.chart.id, source: { kind: 'task', def: k.chart } });
  }
  return out;
}

export function chartByName(name: string): ChartSource | undefined {
  return namedCharts().find((c) => c.name === name)?.source;
}
