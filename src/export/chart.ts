/**
 * Statechart exports: a chart definition (src/engine/chart.ts — a task chart or an
 * object chart) as Mermaid `stateDiagram-v2`, W3C SCXML, or JSON. Pure functions of the
 * definition: the same chart gives the same bytes, so docs/charts.md can be checked fresh.
 *
 * Both kinds of chart are first put in one shape (ChartModel): a tree of states, each
 * with its outgoing transitions, targets resolved to dotted paths. Task charts have
 * three kinds of transition — STEP (one atomic step of kernel code), `always` (routing
 * within the same step) and `onDone` (the called function returned); object charts have
 * one per command (LOCK, UNLOCK, GET...), a missing target meaning "stay".
 */
import {
  type GuardRef, type InjectionPoint, type StateDef, type StateMeta, type Transitions, actionList, transitionList,
} from '../engine/chart.ts';
import type { ObjectChartDef } from '../engine/object_chart.ts';
import type { TaskChartDef } from '../engine/task_chart.ts';

export type ChartSource =
  | { kind: 'task'; def: TaskChartDef<any> }
  | { kind: 'object'; def: ObjectChartDef };

export interface ChartTransition {
  /** 'STEP', 'always', 'onDone' (task charts) or the command (object charts). */
  event: string;
  /** Dotted path of the target; absent: the state does not change (object charts). */
  target?: string;
  guard?: GuardRef;
  actions: string[];
  /** The failure branch of a step the scheduler may make fail. */
  inject?: InjectionPoint;
  description?: string;
}

export interface ChartState {
  name: string;
  /** Dotted path from the root, unique within the chart. */
  path: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final';
  /** Name of the initial child (compound states). */
  initial?: string;
  description?: string;
  meta?: StateMeta;
  states: ChartState[];
  transitions: ChartTransition[];
}

export interface ChartModel {
  id: string;
  kind: 'task' | 'object';
  description?: string;
  /** Task charts: the root is compound; object charts: parallel regions. */
  type: 'compound' | 'parallel';
  initial?: string;
  states: ChartState[];
  /** Events the chart takes, in definition order. */
  events: string[];
  /** Named guards and actions referenced anywhere, sorted. */
  guards: string[];
  actions: string[];
}

/** Guard names a guard reference mentions. */
function guardNames(g: GuardRef | undefined, out: Set<string>): void {
  if (g === undefined) return;
  if (typeof g === 'string') out.add(g);
  else if ('not' in g) guardNames(g.not, out);
  else if ('and' in g) g.and.forEach((x) => guardNames(x, out));
  else if ('or' in g) g.or.forEach((x) => guardNames(x, out));
}

/** A guard as an expression: names, In('region.state'), !, &&, ||. */
export function guardText(g: GuardRef): string {
  if (typeof g === 'string') return g;
  if ('in' in g) return `In('${g.in}')`;
  if ('not' in g) return `!${typeof g.not === 'string' || 'in' in g.not ? guardText(g.not) : `(${guardText(g.not)})`}`;
  const parts = ('and' in g ? g.and : g.or).map((x) => (typeof x === 'object' && ('and' in x || 'or' in x) ? `(${guardText(x)})` : guardText(x)));
  return parts.join('and' in g ? ' && ' : ' || ');
}

const INJECTED = 'injectedFailure';

function taskStates(states: Record<string, StateDef>, prefix: string, guards: Set<string>, actions: Set<string>): ChartState[] {
  return Object.entries(states).map(([name, s]) => {
    const path = prefix ? `${prefix}.${name}` : name;
    const sibling = (t: string) => (prefix ? `${prefix}.${t}` : t);
    const children = s.states ? taskStates(s.states, path, guards, actions) : [];
    const type = s.type === 'final' ? 'final' : s.type === 'parallel' ? 'parallel' : children.length ? 'compound' : 'atomic';
    const transitions: ChartTransition[] = [];
    const add = (event: string, ts: Transitions | undefined) => {
      for (const t of transitionList(ts)) {
        guardNames(t.guard, guards);
        const acts = actionList(t.actions);
        acts.forEach((a) => actions.add(a));
        const mentions = new Set<string>();
        guardNames(t.guard, mentions);
        transitions.push({
          event,
          ...(t.target !== undefined ? { target: sibling(t.target) } : {}),
          ...(t.guard !== undefined ? { guard: t.guard } : {}),
          actions: acts,
          ...(s.meta?.inject && mentions.has(INJECTED) ? { inject: s.meta.inject } : {}),
          ...(t.description ? { description: t.description } : {}),
        });
      }
    };
    for (const [ev, ts] of Object.entries(s.on ?? {})) add(ev, ts);
    add('always', s.always);
    add('onDone', s.onDone);
    return {
      name, path, type,
      ...(children.length ? { initial: s.initial ?? Object.keys(s.states!)[0] } : {}),
      ...(s.description ? { description: s.description } : {}),
      ...(s.meta && Object.keys(s.meta).length ? { meta: s.meta } : {}),
      states: children,
      transitions,
    } satisfies ChartState;
  });
}

/** The chart in one shape, whichever kind it is. */
export function chartModel(src: ChartSource): ChartModel {
  const guards = new Set<string>();
  const actions = new Set<string>();
  if (src.kind === 'task') {
    const d = src.def;
    return {
      id: d.id, kind: 'task', ...(d.description ? { description: d.description } : {}),
      type: 'compound', initial: d.initial,
      states: taskStates(d.states, '', guards, actions),
      events: ['STEP'],
      guards: [...guards].sort(), actions: [...actions].sort(),
    };
  }
  const d = src.def;
  const states: ChartState[] = Object.entries(d.regions).map(([r, region]) => ({
    name: r, path: r, type: 'compound', initial: region.initial,
    ...(region.description ? { description: region.description } : {}),
    states: Object.entries(region.states).map(([n, s]) => ({
      name: n, path: `${r}.${n}`, type: 'atomic',
      ...(s.description ? { description: s.description } : {}),
      states: [],
      transitions: Object.entries(s.on ?? {}).flatMap(([ev, ts]) =>
        transitionList(ts).map((t): ChartTransition => ({
          event: ev,
          ...(t.target !== undefined ? { target: `${r}.${t.target}` } : {}),
          ...(t.guard !== undefined ? { guard: t.guard } : {}),
          actions: actionList(t.actions),
          ...(t.description ? { description: t.description } : {}),
        }))),
    })),
    transitions: [],
  }));
  return {
    id: d.id, kind: 'object', ...(d.description ? { description: d.description } : {}),
    type: 'parallel', states, events: [...d.events], guards: [], actions: [],
  };
}

// ---- Mermaid ---------------------------------------------------------------------------

export interface MermaidOptions {
  /**
   * Nesting levels drawn (1: the top-level states only). Deeper compound states are drawn
   * as one box marked "…" (their inside is in the full chart). Default: all.
   */
  depth?: number;
  /** Draw only the inside of this compound state (a dotted path): one function of a big chart. */
  root?: string;
}

/** The state at a dotted path, if any. */
export function findState(m: ChartModel, path: string): ChartState | undefined {
  let states = m.states;
  let found: ChartState | undefined;
  for (let i = 0, parts = path.split('.'); i < parts.length; i++) {
    found = states.find((s) => s.path === parts.slice(0, i + 1).join('.'));
    if (!found) return undefined;
    states = found.states;
  }
  return found;
}

/** Mermaid state ids share one namespace across nesting: the dotted path makes them unique. */
const mid = (path: string) => `s_${path.replace(/\./g, '__')}`;
/** Mermaid text: '#', ';' and '"' as its entity codes, one line. */
const mtext = (s: string) => s.replace(/#/g, '#35;').replace(/;/g, '#59;').replace(/"/g, '#quot;').replace(/\s+/g, ' ');

/** The kernel function a compound state models, when its name does not already say it. */
function functionName(s: ChartState): string | undefined {
  const k = s.meta?.kernel;
  if (!k || s.type === 'atomic' || s.type === 'final') return undefined;
  const fn = k.split(/[:\s(]/)[0]!;
  return fn && fn !== s.name ? fn : undefined;
}

function mermaidLabel(t: ChartTransition, kind: ChartModel['kind']): string {
  const parts: string[] = [];
  if (t.event === 'onDone') parts.push('done');
  else if (t.event !== 'always' || kind === 'object') parts.push(t.event);
  if (t.guard !== undefined) parts.push(`[${guardText(t.guard)}]`);
  if (t.inject) parts.push(`⚡${t.inject}`);
  return parts.length ? ` : ${mtext(parts.join(' '))}` : '';
}

export function toMermaid(m: ChartModel, opts: MermaidOptions = {}): string {
  const maxDepth = opts.depth ?? Infinity;
  const out: string[] = ['stateDiagram-v2'];
  const ind = (d: number) => '  '.repeat(d);
  const block = (states: ChartState[], initial: string | undefined, prefix: string, d: number, level: number) => {
    if (initial !== undefined) out.push(`${ind(d)}[*] --> ${mid(prefix ? `${prefix}.${initial}` : initial)}`);
    for (const s of states) {
      const fn = functionName(s);
      const open = (s.type === 'compound' || s.type === 'parallel') && level < maxDepth;
      const label = `${s.name}${fn ? ` · ${fn}()` : ''}${s.type === 'compound' && !open ? ' …' : ''}`;
      if (open) {
        out.push(`${ind(d)}state "${mtext(label)}" as ${mid(s.path)} {`);
        block(s.states, s.initial, s.path, d + 1, level + 1);
        out.push(`${ind(d)}}`);
      } else out.push(`${ind(d)}state "${mtext(label)}" as ${mid(s.path)}`);
      if (s.type === 'final') out.push(`${ind(d)}${mid(s.path)} --> [*]`);
    }
    for (const s of states) {
      for (const t of s.transitions) {
        out.push(`${ind(d)}${mid(s.path)} --> ${mid(t.target ?? s.path)}${mermaidLabel(t, m.kind)}`);
      }
    }
  };
  if (opts.root !== undefined) {
    const r = findState(m, opts.root);
    if (!r || r.type !== 'compound') throw new Error(`${m.id} has no compound state '${opts.root}'`);
    block(r.states, r.initial, r.path, 1, 1);
  } else if (m.type === 'parallel') {
    // object charts: the regions run in parallel inside the object
    out.push(`  [*] --> ${mid(m.id)}`);
    out.push(`  state "${mtext(m.id)}" as ${mid(m.id)} {`);
    m.states.forEach((r, i) => {
      if (i > 0) out.push('    --');
      out.push(`    state "${mtext(r.name)}" as ${mid(r.path)} {`);
      block(r.states, r.initial, r.path, 3, 2);
      out.push('    }');
    });
    out.push('  }');
  } else block(m.states, m.initial, '', 1, 1);
  return `${out.join('\n')}\n`;
}

// ---- SCXML -------------------------------------------------------------------------------

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const THPSIM_NS = 'https://github.com/thpsim/thpsim/scxml';

/**
 * W3C SCXML 1.0. State ids are the dotted paths; guards become `cond` expressions over
 * the named guards (the host binds them) and In(); `always` is an eventless transition,
 * `onDone` the `done.state.<id>` event. Kernel function, injection point and actions
 * ride along as attributes in thpsim's own namespace, which SCXML processors ignore.
 */
export function toScxml(m: ChartModel): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const root = m.type === 'parallel' ? m.id : m.initial!;
  out.push(`<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:thpsim="${THPSIM_NS}" version="1.0" datamodel="ecmascript" name="${xml(m.id)}" initial="${xml(root)}">`);
  const ind = (d: number) => '  '.repeat(d);
  const transition = (s: ChartState, t: ChartTransition, d: number) => {
    const attrs: string[] = [];
    if (t.event === 'onDone') attrs.push(`event="done.state.${xml(s.path)}"`);
    else if (t.event !== 'always') attrs.push(`event="${xml(t.event)}"`);
    if (t.guard !== undefined) attrs.push(`cond="${xml(guardText(t.guard))}"`);
    if (t.target !== undefined) attrs.push(`target="${xml(t.target)}"`);
    else attrs.push('type="internal"');
    if (t.actions.length) attrs.push(`thpsim:actions="${xml(t.actions.join(' '))}"`);
    if (t.inject) attrs.push(`thpsim:inject="${t.inject}"`);
    out.push(`${ind(d)}<transition ${attrs.join(' ')}/>`);
  };
  const state = (s: ChartState, d: number) => {
    const tag = s.type === 'final' ? 'final' : s.type === 'parallel' ? 'parallel' : 'state';
    const attrs = [`id="${xml(s.path)}"`];
    if (s.initial !== undefined && s.type === 'compound') attrs.push(`initial="${xml(`${s.path}.${s.initial}`)}"`);
    if (s.meta?.kernel) attrs.push(`thpsim:kernel="${xml(s.meta.kernel)}"`);
    if (s.meta?.inject) attrs.push(`thpsim:inject="${s.meta.inject}"`);
    if (s.description) attrs.push(`thpsim:description="${xml(s.description)}"`);
    if (!s.states.length && !s.transitions.length) {
      out.push(`${ind(d)}<${tag} ${attrs.join(' ')}/>`);
      return;
    }
    out.push(`${ind(d)}<${tag} ${attrs.join(' ')}>`);
    for (const t of s.transitions) transition(s, t, d + 1);
    for (const c of s.states) state(c, d + 1);
    out.push(`${ind(d)}</${tag}>`);
  };
  if (m.type === 'parallel') {
    out.push(`  <parallel id="${xml(m.id)}"${m.description ? ` thpsim:description="${xml(m.description)}"` : ''}>`);
    for (const s of m.states) state(s, 2);
    out.push('  </parallel>');
  } else for (const s of m.states) state(s, 1);
  out.push('</scxml>');
  return `${out.join('\n')}\n`;
}

// ---- JSON ----------------------------------------------------------------------------------

/** The model as JSON: keys in the order ChartModel declares them, states in definition order. */
export function toChartJson(m: ChartModel): string {
  return `${JSON.stringify({ thpsim_chart: 1, ...m }, null, 2)}\n`;
}

export type ChartFormat = 'mermaid' | 'scxml' | 'json';
export const CHART_FORMATS: readonly ChartFormat[] = ['mermaid', 'scxml', 'json'];

export function exportChart(src: ChartSource, format: ChartFormat, opts: MermaidOptions = {}): string {
  const m = chartModel(src);
  return format === 'mermaid' ? toMermaid(m, opts) : format === 'scxml' ? toScxml(m) : toChartJson(m);
}
