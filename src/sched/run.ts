/**
 * One run of a scenario: its world (src/world/: the kernel and the actors, built and
 * started) stepped until the run ends. The scheduler is the only source of choice — which
 * runnable actor steps next, and whether a step's injection point fails — drawn from a
 * seeded generator or read from a recorded schedule; this file is those choices, a driver
 * of the World. Monitors check after every step; a violation, a deadlock or the step bound
 * ends the run. Same scenario + same seed (or schedule) ⇒ the same trace, byte for byte.
 */
import type { InspectionEvent, Observer } from 'xstate';
type InspectionObserver = Observer<InspectionEvent> | ((ev: InspectionEvent) => void);
import type { Scenario } from '../scenario/schema.ts';
import type { Kernel } from '../memory/kernel.ts';
import type { Actor } from './actor.ts';
import { Rng } from './rng.ts';
import type { Violation } from '../bus/events.ts';
import type { Footprint } from '../world/footprint.ts';
import type { ActorResult, Decision, Engine, Saved, Verdict, World } from '../world/world.ts';
import { createWorld } from '../world/engine_world.ts';
import { Stepper } from './stepper.ts';
import { GuidedStrategy, PctStrategy, type Strategy, UniformStrategy } from './strategy.ts';

export type { ActorResult, Decision, Engine, Verdict } from '../world/world.ts';
export { buildKernel, compiledChart, machineFor, populateFiles, statePath } from '../world/build.ts';


export interface RunOptions {
  seed?: number;
  engine?: Engine;
  /** Replay these decisions instead of drawing from the seed. */
  schedule?: readonly Decision[];
  /** When the schedule runs out, go on drawing from the seed (a forced prefix) instead of stopping. */
  continueAfterSchedule?: boolean;
  /** Receives each ftrace-like line (only built when given). */
  trace?: (line: string) => void;
  maxSteps?: number;
  /** Record the decisions (on by default; the bench turns it off). */
  record?: boolean;
  /** Only these monitors (by invariant name); default all registered. For measuring what checking costs. */
  monitors?: readonly string[];
  /**
   * How the next actor is chosen when no schedule is replayed: 'random' (uniform among the
   * runnable actors, the default), 'pct' (probabilistic concurrency testing: random distinct
   * priorities, the highest-priority runnable actor steps, and at d-1 random change points
   * the running actor drops below all others), or 'guided' (follow `guide`, leniently).
   */
  strategy?: 'random' | 'pct' | 'guided';
  /** PCT: bug depth d (d-1 priority change points). */
  pctDepth?: number;
  /** PCT: the number of steps change points are drawn from (the explorer passes the longest run seen). */
  pctSteps?: number;
  /**
   * Guided: at step i take guide[i] if that actor is runnable (injecting its failure if it
   * asks for one and the step has an injection point); otherwise, and once the guide runs
   * out, keep running the actor that stepped last, else the lowest-numbered runnable one.
   * No randomness: the minimiser's interpreter for candidate schedules.
   */
  guide?: readonly Decision[];
  /**
   * With `schedule`: when it runs out and some actor can still step, stop there and return
   * the choices open at that point (`frontier`) and a hash of the whole model state
   * (`stateHash`) — one node of the explorer's depth-first search.
   */
  frontier?: boolean;
  /** Collect the SCAN_* results and the locks whose trylock failed (the explorer's distributions). */
  collect?: boolean;
  /**
   * Called once the kernel, the actors and the bus exist, before the files are populated:
   * an observer (the inspector's recorder, an exporter) subscribes to k.bus here.
   */
  observe?: (k: Kernel, actors: readonly Actor[]) => void;
  /**
   * Called with every actor's current chart state (leaf path): once when all actors have
   * started (step 0), then after each step (its number counted from 1), after the monitors.
   */
  onStep?: (step: number, states: readonly string[]) => void;
  /**
   * With `schedule` (fast engine): record the footprint of the schedule's last decision —
   * what that step read and wrote of the model (the dfs's sleep sets compare them).
   */
  footprint?: boolean;
  /**
   * dfs: at every node, hash every state component again from scratch and check it against
   * the incremental hash (src/world/components.ts), and that no two components share an
   * object; a mismatch names the component and throws. Slow: for the tests.
   */
  checkStateHash?: boolean;
  /** With engine 'xstate': XState's inspection callback for every actor (e.g. @statelyai/inspect's inspector.inspect). */
  inspect?: InspectionObserver;
}

export interface RunResult {
  scenario: string;
  seed: number;
  engine: Engine;
  verdict: Verdict;
  violations: Violation[];
  steps: number;
  /**
   * Preemptions: steps of another actor taken while the one that took the step before
   * could still step (switching away from one that blocked, sleeps or finished is not one).
   * The measure `explore`'s preemption bound limits.
   */
  preemptions: number;
  /** Simulated time at the end, in ns. */
  time_ns: number;
  traceHash: string;
  schedule: Decision[];
  actors: ActorResult[];
  kernel: Kernel;
  /** Replay: where the recorded schedule could not be followed. */
  divergence?: string;
  /** With `frontier`: the decisions open where the schedule ended (none: the run went on to its end). */
  frontier?: Decision[];
  stateHash?: string;
  /** With `frontier`: the same hash as two 32-bit words (lo, hi); in the dfs driver's results (dfs_driver.ts), the only form given. */
  stateWords?: readonly [number, number];
  /** With `collect`: every SCAN_* result khugepaged or a MADV_COLLAPSE caller reported, in order. */
  scans?: string[];
  /** With `collect`: the locks (by kind, e.g. mmap_lock, page_lock) some trylock failed on. */
  contended?: string[];
  /**
   * With `collect`: the program points where an actor had to wait while another ran (its
   * step's guard false: a lock held — lock_page, mmap_lock, the page table lock — or a
   * page still locked, a barrier not passed), as "kind: state path".
   */
  blocked?: string[];
  /** With `footprint`: what the schedule's last step read and wrote. */
  footprint?: Footprint;
}

export function run(s: Scenario, opts: RunOptions = {}): RunResult {
  const { w, stepper } = runStart(s, opts);
  stepper.advance();
  const r = stepper.result(false);
  w.close();
  return r;
}

/** How a run in chunks is stopped and watched (the command line's run: Ctrl-C, a progress line). */
export interface RunControl {
  /** Aborted: the run stops after the chunk it is in, its result so far returned with `interrupted`. */
  signal?: AbortSignal;
  /** Called after each chunk with the steps taken so far. */
  onProgress?: (steps: number) => void;
  /** Steps a chunk (default 65,536): between two chunks the event loop has a turn. */
  chunk?: number;
}

/**
 * run(), in chunks of steps with a turn of the event loop between them, so a long run can be
 * watched and interrupted: the same steps, the same result. Interrupted, the result is the
 * run so far (with `interrupted: true`) — the same state `maxSteps` set to its steps gives.
 */
export async function runInChunks(s: Scenario, opts: RunOptions, ctl: RunControl): Promise<RunResult & { interrupted: boolean }> {
  const { w, stepper } = runStart(s, opts);
  const run = inSteps(w, stepper, false);
  const chunk = ctl.chunk ?? 65_536;
  let ended = false;
  while (!(ended = run.advance(chunk))) {
    ctl.onProgress?.(w.steps);
    await new Promise((resolve) => setImmediate(resolve));
    if (ctl.signal?.aborted) break;
  }
  const r = { ...run.result(), interrupted: !ended };
  w.close();
  return r;
}

/** A run taken a number of steps at a time: `advance(steps)` says whether it has ended; `result()` is then what run() gives. */
interface RunInSteps {
  advance(steps: number): boolean;
  result(): RunResult;
}

function inSteps(w: World, stepper: Stepper, copy: boolean): RunInSteps {
  return {
    advance: (steps) => {
      stepper.advance(w.steps + steps);
      return !stepper.paused;
    },
    result: () => stepper.result(copy),
  };
}

/** A world for one run, with its stepper ready to advance. */
function runStart(s: Scenario, opts: RunOptions): { w: World; stepper: Stepper } {
  const engine = opts.engine ?? 'fast';
  const track = opts.footprint === true && opts.schedule !== undefined && opts.schedule.length > 0 && engine === 'fast';
  const w: World = createWorld(s, {
    engine, record: opts.record, monitors: opts.monitors, trace: opts.trace, collect: opts.collect, observe: opts.observe,
    onStep: opts.onStep, inspect: opts.inspect, checkStateHash: opts.checkStateHash, footprints: track,
  });
  return { w, stepper: stepperFor(s, w, opts, track) };
}

/** One run in world `w` as it stands, by the strategy the options ask for, from their seed. */
function runIn(s: Scenario, w: World, opts: RunOptions, track: boolean, copy: boolean): RunResult {
  const stepper = stepperFor(s, w, opts, track);
  stepper.advance();
  return stepper.result(copy);
}

/** The stepper of a run in world `w`: the strategy the options ask for, from their seed. */
function stepperFor(s: Scenario, w: World, opts: RunOptions, track: boolean): Stepper {
  const seed = opts.seed ?? s.seed;
  const engine = opts.engine ?? 'fast';
  const maxSteps = opts.maxSteps ?? s.max_steps;
  const rng = new Rng(seed);
  // where no schedule is followed (or once it runs out); PCT draws its priorities from the
  // run's generator here (building the world draws nothing from it)
  const strategy: Strategy = opts.strategy === 'guided'
    ? new GuidedStrategy(opts.guide)
    : opts.strategy === 'pct' && !opts.schedule
      ? new PctStrategy(rng, w.actors.length, Math.max(1, opts.pctDepth ?? 3), Math.max(1, opts.pctSteps ?? Math.min(maxSteps, 1000)))
      : new UniformStrategy(rng);
  const stepper = new Stepper(s, w, {
    seed, engine, maxSteps, continueAfterSchedule: opts.continueAfterSchedule, frontier: opts.frontier, hexHash: true, strategy,
  });
  stepper.sched = opts.schedule;
  if (track) stepper.trackAt = opts.schedule!.length - 1;
  return stepper;
}

/** What a RunPool's runs share: how the world is run and checked (the fast engine). */
export type PoolOptions = Pick<RunOptions, 'monitors' | 'collect' | 'record'>;
/** What may differ between a pool's runs. */
export type PooledRun = Pick<RunOptions, 'seed' | 'strategy' | 'pctDepth' | 'pctSteps' | 'maxSteps' | 'schedule' | 'continueAfterSchedule' | 'guide'>;

/**
 * Many runs of one scenario in one world — Coyote's "prepare next iteration": the world is
 * built once and its state at the start saved; every run after the first begins by going
 * back to it (World.restore: the state vector and the components a run changed copied
 * back) instead of building the kernel, its objects, the actors and the monitors again. A
 * run's result is the one run() gives with the same options, field for field (copied: the
 * next run reuses the world), but its `kernel`: the pool's, as the last run left it.
 */
export class RunPool {
  private readonly w: World;
  private readonly start: Saved;
  private fresh = true;

  constructor(private readonly s: Scenario, private readonly opts: PoolOptions = {}) {
    this.w = createWorld(s, { engine: 'fast', record: opts.record, monitors: opts.monitors, collect: opts.collect, snapshots: true });
    this.start = this.w.save();
  }

  run(opts: PooledRun): RunResult {
    if (!this.fresh) this.w.restore(this.start);
    this.fresh = false;
    return runIn(this.s, this.w, { ...this.opts, ...opts }, false, true);
  }

  /**
   * The same run, taken a number of steps at a time (an asynchronous caller gives the event
   * loop a turn between: a schedule of 10^9 steps can be interrupted): `advance(until)` says
   * whether the run has ended; then `result()` is what run() gives. Nothing else may use the
   * pool until it has.
   */
  begin(opts: PooledRun): RunInSteps {
    if (!this.fresh) this.w.restore(this.start);
    this.fresh = false;
    return inSteps(this.w, stepperFor(this.s, this.w, { ...this.opts, ...opts }, false), true);
  }
}
