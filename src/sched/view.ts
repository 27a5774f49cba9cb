/**
 * The scheduler's view of its actors, for the monitors that check program points
 * (sleep-in-atomic, spin-on-sleeper): the chart state each actor rests in, whether it can
 * step, and a call before each step naming the state it steps from. Internal: not part of
 * the plugin API (src/registry.ts's MonitorContext); the world (src/world/engine_world.ts)
 * makes one per run, keyed by its kernel, before the monitors are created.
 */
import type { CNode } from '../engine/task_chart.ts';
import type { Kernel } from '../memory/kernel.ts';
import type { Actor } from './actor.ts';

export interface SchedulerView {
  /** The leaf state (program point) actor `ix` rests in. */
  leaf(ix: number): CNode<Actor<any>>;
  /** Whether actor `ix` can step now — not finished, not asleep, a STEP enabled: the scheduler's own test. */
  runnable(ix: number): boolean;
  /** Called before each step (k.step, k.stepActor and k.stepState set) with the actor and the state it steps from. */
  readonly beforeStep: ((ix: number, from: CNode<Actor<any>>) => void)[];
}

const views = new WeakMap<Kernel, SchedulerView>();

export function setSchedulerView(k: Kernel, v: SchedulerView): void {
  views.set(k, v);
}

/** The view of the run whose kernel is `k` (undefined outside run(): a monitor made by hand in a test). */
export function schedulerView(k: Kernel): SchedulerView | undefined {
  return views.get(k);
}
