/**
 * Statechart diagrams for the inspector: every state a box (compound states hold their
 * children), every transition an edge, laid out once on the server with ELK's layered
 * algorithm and sent to the page as absolute coordinates; the page only draws them.
 *
 * Task charts: transitions are STEP (one atomic step), always (routing within the same
 * step) and onDone (a called function returns); all go to siblings, so each compound
 * state is laid out on its own. Object charts: one box per parallel region, edges
 * labelled with the command (LOCK, FREEZE...); targetless commands (GET on a live page)
 * are listed inside the state.
 */
import ElkBundled from 'elkjs/lib/elk.bundled.js';
import type { ELK, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import { type GuardRef, type StateDef, actionList, transitionList } from '../engine/chart.ts';
import type { ObjectChartDef } from '../engine/object_chart.ts';
import type { TaskChartDef } from '../engine/task_chart.ts';
import { guardText } from '../export/chart.ts';

export interface LayoutNode {
  /** Dotted state path as the run reports it (object charts: region.state; a region: its name). */
  path: string;
  name: string;
  x: number;
  y: number;
  w: number;
  h: number;
  kind: 'compound' | 'atomic' | 'final' | 'region';
  /** Tooltip: the kernel function the state is a program point of, injection point, internal commands. */
  title?: string;
  /** Task charts: the kernel line a step from this state runs, or the function a compound state models (meta.kernel). */
  kernel?: string;
  /** Object charts: commands this state accepts without changing state (GET, PUT...). */
  internal?: string[];
}

export interface LayoutEdge {
  from: string;
  to: string;
  kind: 'step' | 'always' | 'onDone' | 'command';
  /** Drawn on the edge (object charts: the command). */
  label?: string;
  labelX?: number;
  labelY?: number;
  /** Tooltip: guard and actions. */
  title?: string;
  points: [number, number][];
}

export interface ChartLayout {
  id: string;
  kind: 'task' | 'object';
  description?: string;
  width: number;
  height: number;
  nodes: LayoutNode[];
  edges: LayoutEdge[];
}

const CHAR_W = 7;
const LINE_H = 22;

// a CommonJS module whose typings declare an ES default export: the value is the constructor
const elk = new (ElkBundled as unknown as new () => ELK)();

const LAYERED = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.spacing.nodeNode': '14',
  'elk.layered.spacing.nodeNodeBetweenLayers': '22',
  'elk.spacing.edgeLabel': '2',
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  'elk.json.shapeCoords': 'ROOT',
  'elk.json.edgeCoords': 'ROOT',
};

const COMPOUND = { ...LAYERED, 'elk.padding': '[top=26,left=10,bottom=10,right=10]' };

/** A transition's guard as text ('' without one): the exporter's rendering, so the page and the charts agree. */
const guardOf = (g: GuardRef | undefined): string => (g === undefined ? '' : guardText(g));

interface Meta {
  node: Map<string, Omit<LayoutNode, 'x' | 'y' | 'w' | 'h'>>;
  edge: Map<string, Omit<LayoutEdge, 'points'>>;
}

function atomicSize(text: string): { width: number; height: number } {
  return { width: Math.max(40, text.length * CHAR_W + 16), height: LINE_H };
}

/** The ELK graph of a task chart's state tree; node ids are state paths ('' = the root). */
function taskGraph<A>(def: TaskChartDef<A>, meta: Meta): ElkNode {
  let edgeNo = 0;
  const build = (states: Record<string, StateDef>, prefix: string): { children: ElkNode[]; edges: ElkExtendedEdge[] } => {
    const children: ElkNode[] = [];
    const edges: ElkExtendedEdge[] = [];
    for (const [name, s] of Object.entries(states)) {
      const path = prefix ? `${prefix}.${name}` : name;
      const compound = !!s.states && Object.keys(s.states).length > 0;
      const kind = s.type === 'final' ? 'final' : compound ? 'compound' : 'atomic';
      const title = [s.meta?.kernel, s.meta?.inject ? `injection point: ${s.meta.inject}` : '', s.description].filter(Boolean).join('\n');
      meta.node.set(path, { path, name, kind, title: title || undefined, kernel: s.meta?.kernel });
      if (compound) {
        const inner = build(s.states!, path);
        children.push({ id: path, layoutOptions: COMPOUND, children: inner.children, edges: inner.edges });
      } else children.push({ id: path, ...atomicSize(name) });
      const add = (kindOf: LayoutEdge['kind'], list: ReturnType<typeof transitionList>) => {
        for (const t of list) {
          if (t.target === undefined) continue;
          const id = `e${edgeNo++}`;
          const to = prefix ? `${prefix}.${t.target}` : t.target;
          const g = guardOf(t.guard);
          const acts = actionList(t.actions);
          const title = [`${kindOf === 'step' ? 'STEP' : kindOf}${g ? ` [${g}]` : ''}`, acts.length ? `/ ${acts.join(', ')}` : '', t.description ?? '']
            .filter(Boolean).join(' ');
          meta.edge.set(id, { from: path, to, kind: kindOf, title });
          edges.push({ id, sources: [path], targets: [to] });
        }
      };
      add('step', transitionList(s.on?.STEP));
      add('always', transitionList(s.always));
      add('onDone', transitionList(s.onDone));
    }
    return { children, edges };
  };
  const top = build(def.states, '');
  return { id: '', layoutOptions: LAYERED, children: top.children, edges: top.edges };
}

/** The ELK graph of an object chart: a region box per region, its states inside. */
function objectGraph(def: ObjectChartDef, meta: Meta): ElkNode {
  let edgeNo = 0;
  const regions: ElkNode[] = [];
  for (const [r, region] of Object.entries(def.regions)) {
    meta.node.set(r, { path: r, name: r, kind: 'region', title: region.description });
    const children: ElkNode[] = [];
    const edges: ElkExtendedEdge[] = [];
    for (const [name, st] of Object.entries(region.states)) {
      const path = `${r}.${name}`;
      const internal: string[] = [];
      for (const [ev, ts] of Object.entries(st.on ?? {})) {
        for (const t of transitionList(ts)) {
          const g = guardOf(t.guard);
          if (t.target === undefined || t.target === name) {
            internal.push(g ? `${ev} [${g}]` : ev);
            continue;
          }
          const id = `e${edgeNo++}`;
          const to = `${r}.${t.target}`;
          meta.edge.set(id, { from: path, to, kind: 'command', label: ev, title: g ? `${ev} [${g}]` : ev });
          edges.push({
            id, sources: [path], targets: [to],
            labels: [{ text: ev, width: ev.length * 6.2 + 4, height: 13 }],
          });
        }
      }
      meta.node.set(path, { path, name, kind: 'atomic', internal: internal.length ? internal : undefined, title: internal.length ? `also: ${internal.join(', ')}` : undefined });
      const w = Math.max(atomicSize(name).width, ...internal.map((x) => x.length * 5.6 + 12));
      children.push({ id: path, width: w, height: LINE_H + (internal.length ? internal.length * 11 + 3 : 0) });
    }
    // two states side by side; more (pmd entry, mm_users) read better top-down
    regions.push({ id: r, layoutOptions: { ...COMPOUND, 'elk.direction': children.length > 2 ? 'DOWN' : 'RIGHT' }, children, edges });
  }
  return {
    id: '',
    layoutOptions: { ...LAYERED, 'elk.direction': 'RIGHT', 'elk.layered.spacing.nodeNodeBetweenLayers': '30' },
    children: regions,
  };
}

function flatten(root: ElkNode, meta: Meta, id: string, kind: ChartLayout['kind'], description?: string): ChartLayout {
  const nodes: LayoutNode[] = [];
  const edges: LayoutEdge[] = [];
  const walk = (n: ElkNode) => {
    for (const c of n.children ?? []) {
      const m = meta.node.get(c.id)!;
      nodes.push({ ...m, x: c.x ?? 0, y: c.y ?? 0, w: c.width ?? 0, h: c.height ?? 0 });
      walk(c);
    }
    for (const e of n.edges ?? []) {
      const m = meta.edge.get(e.id)!;
      const points: [number, number][] = [];
      for (const s of e.sections ?? []) {
        points.push([s.startPoint.x, s.startPoint.y]);
        for (const b of s.bendPoints ?? []) points.push([b.x, b.y]);
        points.push([s.endPoint.x, s.endPoint.y]);
      }
      const l = e.labels?.[0];
      edges.push({ ...m, points, ...(l ? { labelX: l.x ?? 0, labelY: l.y ?? 0 } : {}) });
    }
  };
  walk(root);
  return { id, kind, description, width: root.width ?? 0, height: root.height ?? 0, nodes, edges };
}

export async function layoutTaskChart<A>(def: TaskChartDef<A>): Promise<ChartLayout> {
  const meta: Meta = { node: new Map(), edge: new Map() };
  const g = await elk.layout(taskGraph(def, meta));
  return flatten(g, meta, def.id, 'task', def.description);
}

export async function layoutObjectChart(def: ObjectChartDef): Promise<ChartLayout> {
  const meta: Meta = { node: new Map(), edge: new Map() };
  const g = await elk.layout(objectGraph(def, meta));
  return flatten(g, meta, def.id, 'object', def.description);
}
