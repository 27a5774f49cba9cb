/**
 * What /api/run serves: the recorded run, the laid-out chart of every actor kind in it
 * (with the scenario's variants applied: the chart that actually ran) and of every object
 * chart (OBJECT_CHARTS: struct page, pmd entry, mm_struct, team head), and the tables the
 * page needs to decode a packed object state (regions, their states, radix) and the PG_*
 * bits.
 */
import type { Scenario } from '../scenario/schema.ts';
import { allMonitors, getActorKind, patchedChart } from '../registry.ts';
import { type CompiledObjectChart, compileObjectChart } from '../engine/object_chart.ts';
import { OBJECT_CHARTS } from '../export/machines.ts';
import { PG } from '../memory/pages.ts';
import { type ChartLayout, layoutObjectChart, layoutTaskChart } from './layout.ts';
import type { Recording } from './record.ts';

export interface ObjectDecoding {
  regions: string[];
  states: string[][];
  radix: number[];
}

export interface Payload {
  run: Recording;
  /** Task charts by actor kind. */
  charts: Record<string, ChartLayout>;
  /** Object charts by id (page, pmd, mm_struct, team_head, ...), in OBJECT_CHARTS order, each with its title. */
  objects: Record<string, ChartLayout & { title: string }>;
  /** How to decode each object chart's packed state, by id. */
  decode: Record<string, ObjectDecoding>;
  pg: Record<string, number>;
  /** What each invariant a violation can name means. */
  invariants: Record<string, string>;
}

/** Invariants the memory model itself enforces (Kernel.violate), beside the registered monitors. */
const MODEL_INVARIANTS: Record<string, string> = {
  'illegal-transition': 'a kernel object\'s statechart refused a command: e.g. unlock_page() of an unlocked page, a reference taken on a frozen page, freeing a mapped page',
  'lock-holder': 'a lock was released by an actor that does not hold it',
  'page-table': 'a page table was changed inconsistently: a pte set without a pte table, or a pte table freed with present ptes',
  'bad-pfn': 'a command on a pfn outside mem_map',
  'compound-free-order': '__free_pages() with an order other than the compound page\'s: its tail pages leak',
  'huge-zero-put-last': 'put_huge_zero_page() dropped the last reference to the huge zero page',
  'huge-zero-shrinker': 'the huge zero page shrinker freed a page someone still uses',
  khugepaged: 'a VM_BUG_ON in khugepaged fired (e.g. a collapse start not HPAGE_PMD_NR-aligned)',
  truncate: 'truncation deleted a page from the page cache while a page table still maps it',
  deadlock: 'every actor is blocked and none can run',
};

const decoding = (c: CompiledObjectChart): ObjectDecoding => ({ regions: c.regionNames, states: c.regionStates, radix: c.radix });
/** The same tables the memory model compiles (PAGE_CHART, MM_CHART, TEAM_HEAD_CHART...): compiling is deterministic. */
const DECODE: Record<string, ObjectDecoding> = Object.fromEntries(OBJECT_CHARTS.map(({ def }) => [def.id, decoding(compileObjectChart(def))]));

/** Rounds coordinates to a tenth of a pixel: the JSON is a third the size. */
function rounded(l: ChartLayout): ChartLayout {
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    ...l, width: r(l.width), height: r(l.height),
    nodes: l.nodes.map((n) => ({ ...n, x: r(n.x), y: r(n.y), w: r(n.w), h: r(n.h) })),
    edges: l.edges.map((e) => ({
      ...e, points: e.points.map(([x, y]) => [r(x), r(y)] as [number, number]),
      ...(e.labelX !== undefined ? { labelX: r(e.labelX), labelY: r(e.labelY!) } : {}),
    })),
  };
}

/** Layouts by chart definition (patchedChart returns the same object when no variant patches it). */
const layouts = new WeakMap<object, Promise<ChartLayout>>();

export async function buildPayload(scenario: Scenario, run: Recording): Promise<Payload> {
  const charts: Record<string, ChartLayout> = {};
  for (const kind of new Set(run.actors.map((a) => a.kind))) {
    const def = patchedChart(getActorKind(kind)!.chart, scenario.variants);
    if (!layouts.has(def)) layouts.set(def, layoutTaskChart(def).then(rounded));
    charts[kind] = await layouts.get(def)!;
  }
  const objects: Payload['objects'] = {};
  for (const { def, title } of OBJECT_CHARTS) {
    if (!layouts.has(def)) layouts.set(def, layoutObjectChart(def).then(rounded));
    objects[def.id] = { ...(await layouts.get(def)!), title };
  }
  return {
    run,
    charts,
    objects,
    decode: DECODE,
    pg: { ...PG },
    invariants: { ...MODEL_INVARIANTS, ...Object.fromEntries(allMonitors().map((m) => [m.name, m.description])) },
  };
}
