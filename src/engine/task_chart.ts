/**
 * Task charts: the statecharts of kernel threads and tasks (khugepaged, a faulting
 * task, the shrinker...). Each state is a program point of a kernel function; each
 * STEP event is one atomic step of kernel code (../shared/design.md § Execution
 * semantics). Nested compound states are called functions: a compound state is
 * entered at its initial child and "returns" through `onDone` when it reaches a final
 * child. `always` routes on what the step just did, within the same atomic step.
 *
 * compileTaskChart() derives the fast executable form from the same definition that
 * xstate_chart.ts turns into an XState machine.
 */
import {
  type GuardRef,
  type InjectionPoint,
  type StateDef,
  type StateMeta,
  actionList,
  transitionList,
} from './chart.ts';

/** The only event a task chart receives: "run your next atomic step". */
export interface StepEvent {
  readonly type: 'STEP';
  /** The scheduler decided that this step's injection point fails. */
  readonly fail: boolean;
}

export type TaskGuard<A> = (a: A, ev: StepEvent) => boolean;
export type TaskAction<A> = (a: A, ev: StepEvent) => void;

export interface TaskChartDef<A> {
  id: string;
  description?: string;
  initial: string;
  states: Record<string, StateDef>;
  guards: Record<string, TaskGuard<A>>;
  actions: Record<string, TaskAction<A>>;
}

export interface CTransition<A> {
  guard: TaskGuard<A> | null;
  actions: TaskAction<A>[];
  target: CNode<A>;
}

export interface CNode<A> {
  /** Index in CompiledTaskChart.nodes; stable for a given definition. */
  index: number;
  /** Dotted path from the root, e.g. "do_huge_pmd_anonymous_page.get_huge_zero_page.alloc". */
  path: string;
  name: string;
  parent: CNode<A> | null;
  kind: 'atomic' | 'compound' | 'final';
  initial: CNode<A> | null;
  children: Map<string, CNode<A>>;
  step: CTransition<A>[];
  always: CTransition<A>[];
  onDone: CTransition<A>[];
  meta: StateMeta;
  inject: InjectionPoint | undefined;
}

export interface CompiledTaskChart<A> {
  def: TaskChartDef<A>;
  id: string;
  root: CNode<A>;
  nodes: CNode<A>[];
  byPath: Map<string, CNode<A>>;
  /** The leaf an actor is in once started (after eventless routing at the start). */
  start(a: A): CNode<A>;
}

export class ChartDefinitionError extends Error {}

function resolveGuard<A>(def: TaskChartDef<A>, g: GuardRef | undefined, where: string): TaskGuard<A> | null {
  if (g === undefined) return null;
  if (typeof g === 'string') {
    const fn = def.guards[g];
    if (!fn) throw new ChartDefinitionError(`${def.id}: ${where}: unknown guard '${g}'`);
    return fn;
  }
  if ('not' in g) {
    const inner = resolveGuard(def, g.not, where)!;
    return (a, ev) => !inner(a, ev);
  }
  if ('and' in g) {
    const parts = g.and.map((x) => resolveGuard(def, x, where)!);
    return (a, ev) => parts.every((p) => p(a, ev));
  }
  if ('or' in g) {
    const parts = g.or.map((x) => resolveGuard(def, x, where)!);
    return (a, ev) => parts.some((p) => p(a, ev));
  }
  throw new ChartDefinitionError(`${def.id}: ${where}: state-in guards are for object charts`);
}

export function compileTaskChart<A>(def: TaskChartDef<A>): CompiledTaskChart<A> {
  const nodes: CNode<A>[] = [];
  const byPath = new Map<string, CNode<A>>();

  const mk = (name: string, path: string, sdef: StateDef | null, parent: CNode<A> | null): CNode<A> => {
    const hasChildren = !!sdef?.states && Object.keys(sdef.states).length > 0;
    const kind = sdef?.type === 'final' ? 'final' : hasChildren ? 'compound' : 'atomic';
    const node: CNode<A> = {
      index: nodes.length, path, name, parent, kind, initial: null, children: new Map(),
      step: [], always: [], onDone: [], meta: sdef?.meta ?? {},
      inject: sdef?.meta?.inject,
    };
    nodes.push(node);
    byPath.set(path, node);
    return node;
  };

  const root = mk(def.id, '', { states: def.states, initial: def.initial }, null);
  const build = (parent: CNode<A>, states: Record<string, StateDef>, initial: string | undefined) => {
    for (const [name, sdef] of Object.entries(states)) {
      const path = parent.path ? `${parent.path}.${name}` : name;
      const n = mk(name, path, sdef, parent);
      parent.children.set(name, n);
      if (sdef.states) build(n, sdef.states, sdef.initial);
    }
    const init = initial ?? Object.keys(states)[0];
    const i = parent.children.get(init!);
    if (!i) throw new ChartDefinitionError(`${def.id}: ${parent.path || '(root)'}: initial state '${init}' does not exist`);
    parent.initial = i;
  };
  build(root, def.states, def.initial);

  const defs = new Map<CNode<A>, StateDef>();
  const collect = (parent: CNode<A>, states: Record<string, StateDef>) => {
    for (const [name, sdef] of Object.entries(states)) {
      const n = parent.children.get(name)!;
      defs.set(n, sdef);
      if (sdef.states) collect(n, sdef.states);
    }
  };
  collect(root, def.states);

  const link = (n: CNode<A>, list: ReturnType<typeof transitionList>, what: string): CTransition<A>[] =>
    list.map((t, i) => {
      const where = `${n.path} ${what}[${i}]`;
      if (t.target === undefined) throw new ChartDefinitionError(`${def.id}: ${where}: task transitions need a target`);
      const scope = what === 'onDone' ? n.parent! : n.parent!;
      const target = scope.children.get(t.target);
      if (!target) throw new ChartDefinitionError(`${def.id}: ${where}: target '${t.target}' is not a sibling`);
      const actions = actionList(t.actions).map((name) => {
        const fn = def.actions[name];
        if (!fn) throw new ChartDefinitionError(`${def.id}: ${where}: unknown action '${name}'`);
        return fn;
      });
      return { guard: resolveGuard(def, t.guard, where), actions, target };
    });

  for (const [n, sdef] of defs) {
    for (const [ev, ts] of Object.entries(sdef.on ?? {})) {
      if (ev !== 'STEP') throw new ChartDefinitionError(`${def.id}: ${n.path}: task charts only take STEP, not '${ev}'`);
      n.step = link(n, transitionList(ts), 'STEP');
    }
    n.always = link(n, transitionList(sdef.always), 'always');
    n.onDone = link(n, transitionList(sdef.onDone), 'onDone');
    if (n.always.some((t) => t.target === n)) {
      // XState ends a macrostep when an eventless microstep leaves the snapshot unchanged,
      // so such a loop would run once there and forever here: route through another state.
      throw new ChartDefinitionError(`${def.id}: ${n.path}: an 'always' transition may not target its own state`);
    }
    if (n.always.length && n.kind !== 'atomic') throw new ChartDefinitionError(`${def.id}: ${n.path}: 'always' only on atomic states`);
    if (n.onDone.length && n.kind !== 'compound') throw new ChartDefinitionError(`${def.id}: ${n.path}: 'onDone' only on compound states`);
    if (n.kind === 'atomic' && !n.step.length && !n.always.length) {
      throw new ChartDefinitionError(`${def.id}: ${n.path}: atomic state with no way out (make it final)`);
    }
  }

  const chart: CompiledTaskChart<A> = {
    def, id: def.id, root, nodes, byPath,
    // XState computes an actor's initial macrostep before the actor runs and defers the
    // custom actions taken in it until start(): start-up guards do not see start-up
    // actions. The compiled form does the same, so both engines agree.
    start: (a) => {
      let leaf = root.initial!;
      while (leaf.kind === 'compound') leaf = leaf.initial!;
      const deferred: TaskAction<A>[] = [];
      leaf = settleFrom(chart, leaf, a, START_EVENT, deferred);
      for (const act of deferred) act(a, START_EVENT);
      return leaf;
    },
  };
  return chart;
}

const START_EVENT: StepEvent = { type: 'STEP', fail: false };

function firstEnabled<A>(ts: CTransition<A>[], a: A, ev: StepEvent): CTransition<A> | null {
  for (const t of ts) if (t.guard === null || t.guard(a, ev)) return t;
  return null;
}

/** The STEP transition a leaf would take now, or null if the actor is blocked. */
export function enabledStep<A>(leaf: CNode<A>, a: A, ev: StepEvent): CTransition<A> | null {
  for (let n: CNode<A> | null = leaf; n; n = n.parent) {
    const t = firstEnabled(n.step, a, ev);
    if (t) return t;
  }
  return null;
}

/** Runs one atomic step; returns the leaf the actor rests in afterwards. */
export function fireStep<A>(chart: CompiledTaskChart<A>, leaf: CNode<A>, a: A, ev: StepEvent): CNode<A> | null {
  const t = enabledStep(leaf, a, ev);
  return t ? takeStep(chart, t, a, ev) : null;
}

/** Takes a STEP transition already found enabled (by enabledStep with the same event). */
export function takeStep<A>(chart: CompiledTaskChart<A>, t: CTransition<A>, a: A, ev: StepEvent): CNode<A> {
  for (const act of t.actions) act(a, ev);
  let next = t.target;
  while (next.kind === 'compound') next = next.initial!;
  return settleFrom(chart, next, a, ev);
}

/** Longest eventless chain one step may take before we call the chart non-settling. */
const MAX_EVENTLESS = 100_000;

function settleFrom<A>(
  chart: CompiledTaskChart<A>, leaf: CNode<A>, a: A, ev: StepEvent, deferred?: TaskAction<A>[],
): CNode<A> {
  for (let n = 0; ; n++) {
    if (n > MAX_EVENTLESS) {
      throw new ChartDefinitionError(`${chart.id}: eventless transitions from ${leaf.path} never settle`);
    }
    let t: CTransition<A> | null;
    if (leaf.kind === 'final') {
      const parent = leaf.parent!;
      if (parent === chart.root) return leaf;
      t = firstEnabled(parent.onDone, a, ev);
    } else {
      t = firstEnabled(leaf.always, a, ev);
    }
    if (!t) return leaf;
    for (const act of t.actions) {
      if (deferred) deferred.push(act);
      else act(a, ev);
    }
    leaf = t.target;
    while (leaf.kind === 'compound') leaf = leaf.initial!;
  }
}
