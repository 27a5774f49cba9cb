/**
 * Extension points: actor kinds, invariant monitors and algorithm variants are
 * registered here, not wired into the scheduler or the CLI. A scenario names the actor
 * kinds it runs and the variants it selects; every registered monitor checks every run.
 * A plugin module (a scenario's `plugins:` entry) registers more of each.
 */
import type { z } from 'zod';
import type { TaskChartDef } from './engine/task_chart.ts';
import type { StateDef } from './engine/chart.ts';
import type { Actor } from './sched/actor.ts';
import type { Kernel } from './memory/kernel.ts';

export interface ActorKind<L = any, Spec extends { id: string } = any> {
  /** The scenario's `kind:` value. */
  kind: string;
  description: string;
  /** Task comm as trace lines print it. */
  comm: string;
  chart: TaskChartDef<Actor<L>>;
  /** Zod schema of this kind's scenario entry (without `kind`); addresses are already vpns. */
  schema: z.ZodType<Spec>;
  /** The actor's locals at start. */
  locals(spec: Spec, k: Kernel): L;
  /** Never started: e.g. a fork child whose parent died before forking. Not a deadlock. */
  unborn?(a: Actor<L>): boolean;
  /**
   * Blocked only waiting for work (khugepaged with no mm_slot, or past its bound): when
   * every actor left is blocked and each of these is idle, the run ends with them asleep —
   * not a deadlock. Returns the outcome to report ('ok', 'idle'), or null if not idle.
   */
  idle?(a: Actor<L>): string | null;
  /** Setup before the run (e.g. mm_users for a task's mm). */
  attach?(spec: Spec, k: Kernel): void;
}

export interface MonitorContext {
  k: Kernel;
  /** Reports a violation of this monitor's invariant (the run stops after this step). */
  report(message: string, actor?: number): void;
  /**
   * Says that the monitor's `state` was just written (the dfs hashes it again), as a bus
   * event says a write to the model; `checkStateHash` names a write with no call.
   */
  changed(): void;
  actors: readonly Actor[];
}

export interface Monitor {
  /**
   * Everything the monitor remembers from one step to the next (its ghost state), as one
   * object the dfs can snapshot and restore in place; a monitor that remembers nothing
   * leaves it out. It is part of the dfs's state, as a never claim's state is part of
   * SPIN's state vector: two paths to one model state that left the monitor remembering
   * different things are two states, since what the monitor reports next may differ. So
   * keep it canonical — no step numbers or other clocks, which would make every depth a
   * state of its own. Every write to it is followed by `changed()` (MonitorContext).
   */
  state?: object;
  /**
   * What it keeps only within a step (the pages a step touched, to check at its end):
   * snapshotted and restored with the run, never part of the state hash.
   */
  scratch?: object;
  /**
   * Forgets what the step in progress gathered: for a monitor whose `scratch` is kept within
   * a step only, and is what reset() makes it whenever a step has ended with no violation.
   * With it, a search going back to a state saved between steps calls reset() instead of
   * restoring a copy of the scratch (one is taken only where it may differ: before the first
   * step, or after a violation).
   */
  reset?(): void;
  /** Checks once the step's events are all in. */
  stepEnd?(): void;
  /** Checks when an actor finishes. */
  actorExit?(a: Actor): void;
  /** Checks once the whole system is quiescent (no actor can run). */
  quiescent?(): void;
}

export interface MonitorKind {
  /** The invariant's name as violations report it. */
  name: string;
  description: string;
  create(ctx: MonitorContext): Monitor;
}

export type ChartPatch = (def: TaskChartDef<any>) => TaskChartDef<any>;

/**
 * A rewrite of one kernel function, applied wherever a chart embeds it (every compound
 * state whose meta.kernel names the function): collapse_shmem run by khugepaged and by a
 * MADV_COLLAPSE caller is one definition, so its fix reaches both.
 */
export interface FunctionPatch {
  patch: (states: Record<string, StateDef>) => Record<string, StateDef>;
  guards?: Record<string, (a: any, ev: any) => boolean>;
  actions?: Record<string, (a: any, ev: any) => void>;
}

export interface Variant {
  name: string;
  description: string;
  /** 'fix': a correction of a finding; 'broken': a deliberately wrong version; 'design': an alternative. */
  kind: 'fix' | 'broken' | 'design';
  /** Rewrites of task charts, by chart id. Variants that only switch a kernel branch leave this empty. */
  charts?: Record<string, ChartPatch>;
  /** Rewrites of kernel functions, by name (meta.kernel), in every chart that embeds them. */
  functions?: Record<string, FunctionPatch>;
}

const actorKinds = new Map<string, ActorKind>();
const monitors = new Map<string, MonitorKind>();
const variants = new Map<string, Variant>();

function add<T extends { name?: string; kind?: string }>(m: Map<string, T>, key: string, v: T, what: string): void {
  if (m.has(key) && m.get(key) !== v) throw new Error(`${what} '${key}' is already registered`);
  m.set(key, v);
}

export function registerActorKind(k: ActorKind): void { add(actorKinds, k.kind, k, 'actor kind'); }
export function registerMonitor(m: MonitorKind): void { add(monitors, m.name, m, 'monitor'); }
export function registerVariant(v: Variant): void { add(variants, v.name, v, 'variant'); }

export const getActorKind = (kind: string): ActorKind | undefined => actorKinds.get(kind);
export const getVariant = (name: string): Variant | undefined => variants.get(name);
export const allActorKinds = (): ActorKind[] => [...actorKinds.values()];
export const allMonitors = (): MonitorKind[] => [...monitors.values()];
export const allVariants = (): Variant[] => [...variants.values()];

/** A chart with the selected variants' patches applied, in the order named. */
export function patchedChart<L>(def: TaskChartDef<Actor<L>>, variantNames: readonly string[]): TaskChartDef<Actor<L>> {
  let out = def;
  for (const n of variantNames) {
    const v = variants.get(n);
    const patch = v?.charts?.[def.id];
    if (patch) out = patch(out);
    for (const [fn, fp] of Object.entries(v?.functions ?? {})) out = patchFunction(out, fn, fp);
  }
  return out;
}

/** Applies `fp` to every compound state of `def` whose meta.kernel is `fn` (a def without one is returned as it is). */
function patchFunction<A>(def: TaskChartDef<A>, fn: string, fp: FunctionPatch): TaskChartDef<A> {
  let found = false;
  const walk = (states: Record<string, StateDef>): Record<string, StateDef> => {
    const out: Record<string, StateDef> = {};
    for (const [name, s] of Object.entries(states)) {
      if (!s.states) {
        out[name] = s;
        continue;
      }
      let inner = walk(s.states);
      if (s.meta?.kernel === fn) {
        inner = fp.patch(inner);
        found = true;
      }
      out[name] = { ...s, states: inner };
    }
    return out;
  };
  const states = walk(def.states);
  if (!found) return def;
  return { ...def, states, guards: { ...def.guards, ...fp.guards }, actions: { ...def.actions, ...fp.actions } };
}
