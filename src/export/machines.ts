/**
 * The statecharts `thpsim export chart` knows, by name: the object charts (struct page,
 * pmd entry, mm_struct, huge tmpfs team head) and every registered actor kind's task chart
 * (by kind, or by the chart's own id where it differs).
 */
import '../builtins.ts';
import { allActorKinds } from '../registry.ts';
import { pageChart } from '../../machines/page.ts';
import { pmdChart } from '../../machines/pmd.ts';
import { mmChart } from '../../machines/mm_struct.ts';
import { teamHeadChart } from '../../machines/team_head.ts';
import type { ObjectChartDef } from '../engine/object_chart.ts';
import type { ChartSource } from './chart.ts';

/**
 * The object charts in reading order, each named by its id (`page`, `pmd`, `mm_struct`,
 * `team_head`), with the title a reader knows it by: the one list the export, the chart
 * docs and the inspector read, so a new object chart joins all three here.
 */
export const OBJECT_CHARTS: readonly { def: ObjectChartDef; title: string }[] = [
  { def: pageChart, title: 'struct page' },
  { def: pmdChart, title: 'pmd entry' },
  { def: mmChart, title: 'mm_struct' },
  { def: teamHeadChart, title: 'huge tmpfs team head' },
];

export interface NamedChart {
  name: string;
  source: ChartSource;
}

export function namedCharts(): NamedChart[] {
  const out: NamedChart[] = OBJECT_CHARTS.map(({ def }) => ({ name: def.id, source: { kind: 'object', def } }));
  for (const k of allActorKinds()) {
    out.push({ name: k.kind, source: { kind: 'task', def: k.chart } });
    if (k.chart.id !== k.kind && !out.some((c) => c.name === k.chart.id)) out.push({ name: k.chart.id, source: { kind: 'task', def: k.chart } });
  }
  return out;
}

export function chartByName(name: string): ChartSource | undefined {
  return namedCharts().find((c) => c.name === name)?.source;
}
