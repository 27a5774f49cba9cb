/**
 * The object charts — struct page, pmd entry, mm_struct, the huge tmpfs team head — as a
 * registry, with what extensions added to them. The memory model runs the current
 * (extended) definition of each; `thpsim export chart`, the chart docs and the inspector
 * read the same list, so an extension shows wherever a built-in chart does.
 *
 * An extension composes: it appends regions and commands and may add conjuncts to the
 * guards of existing transitions, never edits them otherwise. Appending keeps every
 * existing state's number (the chart is numbered mixed radix over its regions, and a new
 * region's digit is 0 in its initial state), so runs, traces, state hashes and dfs state
 * counts of scenarios that never send an extension's commands do not change.
 *
 * The built-in charts register here, as this module loads: the memory model compiles the
 * page chart as it loads (src/memory/pages.ts), before src/builtins.ts has run.
 */
import { pageChart } from '../machines/page.ts';
import { pmdChart } from '../machines/pmd.ts';
import { mmChart } from '../machines/mm_struct.ts';
import { teamHeadChart } from '../machines/team_head.ts';
import { type CompiledObjectChart, type ObjectChartDef, type ObjectRegionDef, ObjectChartError, compileObjectChart } from './engine/object_chart.ts';
import { type GuardRef, type TransitionDef, transitionList } from './engine/chart.ts';

/**
 * A guard conjunct on an existing transition: the command `event`, taken in `state`
 * ('region.state'), is legal only if `guard` also holds there. E.g. free_pages_check():
 * PAGE_FLAGS_CHECK_AT_FREE includes PG_writeback, so FREE in alloc.allocated requires
 * `{ in: 'writeback.clear' }`.
 */
export interface GuardConjunct {
  state: string;
  event: string;
  /** State-in tests only (`{ in: 'region.state' }`, and/or/not of them): object charts have no named guards. */
  guard: GuardRef;
}

/** What an extension adds to one object chart. */
export interface ObjectChartExtension {
  /** Names the extension in errors and in the extended chart's description (e.g. 'PG_writeback'). */
  name: string;
  /** New commands, appended to the chart's; each handled by one of the new regions. */
  events?: readonly string[];
  /**
   * New parallel regions, appended after the existing ones. A region's initial state must be
   * its first: an object nobody sent the new commands to is then numbered as before.
   */
  regions?: Record<string, ObjectRegionDef>;
  /** Conjuncts on the guards of existing transitions (an extension's region may also be tested by its own). */
  guards?: readonly GuardConjunct[];
}

interface Entry {
  /** The chart as registered, before any extension. */
  base: ObjectChartDef;
  /** Whether the memory model runs the extended definition (registerObjectChart's `extensible`). */
  extensible: boolean;
  /** With every extension applied, in the order they were registered. */
  def: ObjectChartDef;
  title: string;
  extensions: ObjectChartExtension[];
  compiled?: CompiledObjectChart;
  watchers: ((c: CompiledObjectChart) => void)[];
}

const charts = new Map<string, Entry>();

/**
 * Registers an object chart under its id, with the title a reader knows it by ('struct
 * page'). `extensible`: the model that runs it follows extendObjectChart (watchObjectChart).
 */
export function registerObjectChart(def: ObjectChartDef, title: string, extensible = false): void {
  const had = charts.get(def.id);
  if (had) {
    if (had.base === def) return;
    throw new Error(`object chart '${def.id}' is already registered`);
  }
  compileObjectChart(def);
  charts.set(def.id, { base: def, extensible, def, title, extensions: [], watchers: [] });
}

/** `def` with `ext` applied (a new definition; `def` is left as it is). Throws an ObjectChartError naming what is wrong. */
export function applyObjectChartExtension(def: ObjectChartDef, ext: ObjectChartExtension): ObjectChartDef {
  const fail = (msg: string): never => {
    throw new ObjectChartError(`${def.id} chart extension '${ext.name}': ${msg}`);
  };
  const events = ext.events ?? [];
  const regions = ext.regions ?? {};
  const guards = ext.guards ?? [];
  if (!events.length && !Object.keys(regions).length && !guards.length) fail('adds no region, command or guard');
  for (const e of events) if (def.events.includes(e)) fail(`command '${e}' is already one of the chart's`);
  if (new Set(events).size !== events.length) fail('names a command twice');
  for (const [name, r] of Object.entries(regions)) {
    if (def.regions[name]) fail(`region '${name}' is already one of the chart's`);
    if (Object.keys(r.states)[0] !== r.initial) {
      fail(`region '${name}': its initial state '${r.initial}' must be its first, so that every existing state keeps its number`);
    }
    for (const s of Object.values(r.states)) {
      for (const e of Object.keys(s.on ?? {})) if (def.events.includes(e)) fail(`region '${name}' handles '${e}', an existing region's command: add a guard conjunct instead`);
    }
  }
  const out: ObjectChartDef = {
    ...def,
    description: `${def.description ?? def.id}; ${ext.name}`,
    events: [...def.events, ...events],
    regions: { ...def.regions, ...regions },
  };
  for (const g of guards) {
    const [region, state] = g.state.split('.');
    const st = out.regions[region!]?.states[state!];
    if (!st) fail(`guard on '${g.event}' in unknown state '${g.state}'`);
    if (st!.on?.[g.event] === undefined) fail(`state '${g.state}' has no transition on '${g.event}' to add a guard to`);
    const and = (t: TransitionDef): TransitionDef => ({ ...t, guard: t.guard === undefined ? g.guard : { and: [t.guard, g.guard] } });
    const r = out.regions[region!]!;
    out.regions[region!] = {
      ...r,
      states: { ...r.states, [state!]: { ...st, on: { ...st!.on, [g.event]: transitionList(st!.on![g.event]).map(and) } } },
    };
  }
  try {
    compileObjectChart(out);
  } catch (e) {
    fail((e as Error).message.replace(`${def.id}: `, ''));
  }
  return out;
}

/**
 * Extends a registered object chart (`extendObjectChart('page', ...)`): at import time,
 * before any kernel is built — a page store built before keeps working (its states keep
 * their numbers), but follows the extended chart from then on. Registering the same
 * extension object again does nothing.
 */
export function extendObjectChart(id: string, ext: ObjectChartExtension): void {
  const e = charts.get(id);
  if (!e) throw new Error(`no object chart '${id}' to extend (${[...charts.keys()].join(', ')})`);
  if (!e.extensible) throw new Error(`the ${id} chart cannot be extended: the memory model runs its table as built (the page chart can be)`);
  if (e.extensions.includes(ext)) return;
  if (e.extensions.some((x) => x.name === ext.name)) throw new Error(`${id} chart extension '${ext.name}' is already registered`);
  e.def = applyObjectChartExtension(e.def, ext);
  e.extensions.push(ext);
  e.compiled = undefined;
  if (e.watchers.length) {
    const c = compiledObjectChart(id);
    for (const w of e.watchers) w(c);
  }
}

function entry(id: string): Entry {
  const e = charts.get(id);
  if (!e) throw new Error(`no object chart '${id}'`);
  return e;
}

/** The current definition of an object chart: as registered, with its extensions. */
export const objectChart = (id: string): ObjectChartDef => entry(id).def;

/** The current definition compiled (once per extension). */
export function compiledObjectChart(id: string): CompiledObjectChart {
  const e = entry(id);
  return (e.compiled ??= compileObjectChart(e.def));
}

/** Calls `fn` with the recompiled chart whenever an extension changes it (the memory model's hot tables). */
export function watchObjectChart(id: string, fn: (c: CompiledObjectChart) => void): void {
  entry(id).watchers.push(fn);
}

/** The extensions applied to a chart, in order. */
export const objectChartExtensions = (id: string): readonly ObjectChartExtension[] => entry(id).extensions;

/** How many regions a chart had as registered: the ones after are extensions'. */
export const baseRegionCount = (id: string): number => Object.keys(entry(id).base.regions).length;

/** Every object chart in registration order (reading order), current definitions. */
export const allObjectCharts = (): { def: ObjectChartDef; title: string }[] => [...charts.values()].map((e) => ({ def: e.def, title: e.title }));

registerObjectChart(pageChart, 'struct page', true);
registerObjectChart(pmdChart, 'pmd entry');
registerObjectChart(mmChart, 'mm_struct');
registerObjectChart(teamHeadChart, 'huge tmpfs team head');
