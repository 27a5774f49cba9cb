/**
 * What /api/run serves: the recorded run, the laid-out chart of every actor kind in it
 * (with the scenario's variants applied: the chart that actually ran) and of every object
 * chart (src/object_charts.ts: struct page, pmd entry, mm_struct, team head, as extensions
 * left them: the charts that actually ran), and the tables the
 * page needs to decode a packed object state (regions, their states, radix) and the PG_*
 * bits.
 */
import type { Scenario } from '../scenario/schema.ts';
import { allMonitors, getActorKind, patchedChart } from '../registry.ts';
import type { CompiledObjectChart } from '../engine/object_chart.ts';
import { allObjectCharts, compiledObjectChart } from '../object_charts.ts';
import { PG } from '../memory/pages.ts';
import { type ChartLayout, layoutObjectChart, layoutTaskChart } from './layout.ts';
import type { Recording } from './record.ts';
import { MODEL_INVARIANTS } from '../check/model_invariants.ts';

export interface ObjectDecoding {
  regions: string[];
  states: string[][];
  radix: number[];
}

export interface Payload {
  run: Recording;
  /** Task charts by actor kind. */
  charts: Record<string, ChartLayout>;
  /** Object charts by id (page, pmd, mm_struct, team_head, ...), in registration order, each with its title. */
  objects: Record<string, ChartLayout & { title: string }>;
  /** How to decode each object chart's packed state, by id. */
  decode: Record<string, ObjectDecoding>;
  pg: Record<string, number>;
  /** What each invariant a violation can name means. */
  invariants: Record<string, string>;
  /** The actors of the scenario as written that this run (a minimised counterexample) does without. */
  removedActors: string[];
}

/** Every object chart the inspector draws, with its title: the one place it learns them. */
const objectCharts = () => allObjectCharts();

const decoding = (c: CompiledObjectChart): ObjectDecoding => ({ regions: c.regionNames, states: c.regionStates, radix: c.radix });

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

export async function buildPayload(scenario: Scenario, run: Recording, opts: { removedActors?: readonly string[] } = {}): Promise<Payload> {
  const charts: Record<string, ChartLayout> = {};
  for (const kind of new Set(run.actors.map((a) => a.kind))) {
    const def = patchedChart(getActorKind(kind)!.chart, scenario.variants);
    if (!layouts.has(def)) layouts.set(def, layoutTaskChart(def).then(rounded));
    charts[kind] = await layouts.get(def)!;
  }
  const objects: Payload['objects'] = {};
  const decode: Payload['decode'] = {};
  for (const { def, title } of objectCharts()) {
    if (!layouts.has(def)) layouts.set(def, layoutObjectChart(def).then(rounded));
    objects[def.id] = { ...(await layouts.get(def)!), title };
    // the tables the memory model runs (PAGE_CHART, MM_CHART, TEAM_HEAD_CHART...)
    decode[def.id] = decoding(compiledObjectChart(def.id));
  }
  return {
    run,
    charts,
    objects,
    decode,
    pg: { ...PG },
    invariants: { ...MODEL_INVARIANTS, ...Object.fromEntries(allMonitors().map((m) => [m.name, m.description])) },
    removedActors: [...(opts.removedActors ?? [])],
  };
}
