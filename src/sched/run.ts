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
import { hexOf } from '../world/state_hash.ts';
import type { ActorResult, Decision, Engine, Saved, Verdict, World } from '../world/world.ts';
import { createWorld, cut } from '../world/engine_world.ts';
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
   * Depth-first search in one run (fast engine, with `frontier`): where the schedule ends,
   * the run hands the node to `search.visit` and goes on to the children it returns, each
   * from a snapshot of the node's state restored in place — the same results, node by node,
   * as re-running the scenario along each child's prefix, without the re-running.
   */
  search?: Search<any>;
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
  /** With `frontier`: the same hash as two 32-bit words (lo, hi); in a dfs run(), the only form given. */
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

/**
 * The dfs as run() drives it (RunOptions.search): the nodes to run come from `next`, in
 * depth-first order — a node's parent is the node run last or one of its ancestors — each
 * named by its depth and the decision that leads into it from its parent; run() reaches it
 * from the nearest snapshot on the way to it and hands over its result.
 */
export interface Search<N> {
  /** The next node to run; undefined: return; null: none yet (a parallel dfs's worker waiting for one) — yield, then ask again. */
  next(): N | null | undefined;
  /** The number of decisions from the start to the node. */
  depth(node: N): number;
  /** The decision from the node's parent into it (undefined at the root). */
  decision(node: N): Decision | undefined;
  /** After a node: whether runSteps() should yield here (it resumes where it was). */
  pause?(): boolean;
  /** Whether the last step into the node should record its footprint. */
  footprint(node: N): boolean;
  /**
   * For a node whose parent is not on the path the model is at (a parallel dfs's worker
   * taking a subtree the search order did not lead to): its decisions from the start. The
   * run goes back to the start and follows them.
   */
  jumpTo?(node: N): readonly Decision[] | undefined;
  /**
   * The node's result (as run() with its prefix as `schedule` gives it); how many children
   * of it come next. Where the run goes on (`frontier` set), only verdict, steps, time_ns,
   * frontier, stateHash and footprint are filled in; where it ended, everything.
   */
  visit(node: N, r: RunResult): number;
}

export function run(s: Scenario, opts: RunOptions = {}): RunResult {
  const g = runSteps(s, opts);
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/**
 * run(), as a generator that yields between dfs nodes when `search.pause()` asks it to —
 * so an asynchronous driver can give the event loop a turn and carry on with the same
 * model, snapshots and path (a search resumed in a new run would have to re-run a prefix
 * and take its snapshots anew).
 */
export function* runSteps(s: Scenario, opts: RunOptions = {}): Generator<void, RunResult, void> {
  const seed = opts.seed ?? s.seed;
  const engine = opts.engine ?? 'fast';
  const maxSteps = opts.maxSteps ?? s.max_steps;
  const rng = new Rng(seed);
  const search = engine === 'fast' && opts.frontier ? opts.search : undefined;
  /** The decisions to follow: the schedule given, or the prefix of the dfs node being run. */
  let sched: readonly Decision[] | undefined = opts.schedule;
  /** The step whose footprint is recorded (-1: none). */
  let trackAt = opts.footprint && sched && engine === 'fast' ? sched.length - 1 : -1;
  const w: World = createWorld(s, {
    engine, record: opts.record, monitors: opts.monitors, trace: opts.trace, collect: opts.collect, observe: opts.observe,
    onStep: opts.onStep, inspect: opts.inspect, checkStateHash: opts.checkStateHash,
    snapshots: search !== undefined, footprints: trackAt >= 0 || search !== undefined, alsoSave: [rng],
  });
  const k = w.kernel;

  let verdict: Verdict = 'ok';
  let divergence: string | undefined;
  // where no schedule is followed (or once it runs out); PCT draws its priorities from the
  // run's generator here (building the world draws nothing from it)
  const strategy: Strategy = opts.strategy === 'guided'
    ? new GuidedStrategy(opts.guide)
    : opts.strategy === 'pct' && !opts.schedule
      ? new PctStrategy(rng, w.actors.length, Math.max(1, opts.pctDepth ?? 3), Math.max(1, opts.pctSteps ?? Math.min(maxSteps, 1000)))
      : new UniformStrategy(rng);

  let footprint: Footprint | undefined;
  let frontier: Decision[] | undefined;
  let stateHash: string | undefined;
  let stateWords: readonly [number, number] | undefined;
  // dfs: the node being run, the path of decisions the model is at, and the world saved at
  // nodes on that path (always the start; then the nodes whose children are being run)
  let node: unknown;
  const path: Decision[] = [];
  const snapshots: (Saved | undefined)[] = [];
  const spare: Saved[] = [];
  const snapshotHere = (depth: number) => {
    const base = snapshots[deepestSnapshot()];
    snapshots[depth] = w.save(base, snapshots[depth] ?? spare.pop());
  };
  /** The depth of the deepest snapshot on the path (the start's, 0, is always there). */
  const deepestSnapshot = (): number => {
    let d = snapshots.length - 1;
    while (d > 0 && !snapshots[d]) d--;
    return d;
  };
  /**
   * Go to the next node: restore the deepest snapshot on the way to it; the loop follows the
   * rest of its prefix. Depth-first, its parent is on the path the model is on: the path's
   * first depth-1 decisions, then the node's own.
   */
  const nextNode = (): boolean | null => {
    const next = search!.next();
    if (next === undefined) return false;
    if (next === null) return null;
    node = next;
    const n = search!.depth(node);
    const jump = search!.jumpTo?.(node);
    if (n > path.length + 1 && !jump) throw new Error(`dfs: a node at depth ${n} while the path is ${path.length} long: not depth-first`);
    const firstChild = atNode && n === path.length + 1 && !jump;
    atNode = false;
    if (!firstChild) {
      let d = jump ? 0 : Math.max(0, Math.min(n - 1, snapshots.length - 1));
      while (!snapshots[d]) d--;
      w.restore(snapshots[d]!);
      // the deeper snapshots are off the way now: their copies are reused by the next ones
      for (let i = d + 1; i < snapshots.length; i++) if (snapshots[i]) spare.push(snapshots[i]!);
      cut(snapshots, d + 1);
      cut(path, jump ? 0 : Math.max(0, n - 1));
      if (jump) for (let i = 0; i < n - 1; i++) path.push(jump[i]!);
    }
    // (the first child of the node the model is at goes on from here: nothing to restore)
    if (n > 0) path.push(search!.decision(node)!);
    return enter(node, n);
  };
  /** Run toward a node whose prefix is `path` (of length n). */
  const enter = (node: unknown, n: number): boolean => {
    sched = path;
    trackAt = search!.footprint(node) ? n - 1 : -1;
    verdict = 'ok';
    divergence = undefined;
    frontier = undefined;
    stateHash = undefined;
    stateWords = undefined;
    footprint = undefined;
    return true;
  };
  /** The model is at the node `path` names (its frontier just computed): its first child needs no restore. */
  let atNode = false;
  if (!search) advance();
  else {
    // dfs: one node after another, each handed over with its result (detached from the
    // run's own arrays, which the next restore rolls back). A node whose children come next
    // keeps a snapshot for its second child on (the first goes on from here) — unless a
    // snapshot lies fewer than SNAPSHOT_EVERY levels up: then going back is a restore of
    // that one and a replay of the few steps down from it, cheaper than a snapshot.
    snapshotHere(0);
    for (let go; (go = nextNode()) !== false;) {
      if (go === null) {
        yield;
        continue;
      }
      advance();
      const children = search.visit(node, frontier !== undefined ? interim() : result(true));
      atNode = frontier !== undefined;
      if (children > 1 && atNode && path.length - deepestSnapshot() >= SNAPSHOT_EVERY) snapshotHere(path.length);
      if (search.pause?.()) yield;
    }
  }

  w.close();
  return result(false);

  /** Steps until the run ends, or (with a frontier) until the schedule does. */
  function advance(): void {
    for (;;) {
      let r = -1;
      let fail = false;
      const step = w.steps;
      if (step >= maxSteps && w.anyRunnable()) {
        verdict = 'step-bound';
        break;
      }
      if (sched && (step < sched.length || !opts.continueAfterSchedule)) {
        const d = sched[step];
        if (d) {
          const found = w.actorIndex(d.actor);
          if (found >= 0 && !w.runnable(found) && w.asleep(found) && !w.anyRunnable()) {
            // as when the schedule was recorded: nobody can run, so the earliest timer fires
            w.fireTimers();
            continue;
          }
          if (found < 0 || !w.runnable(found) || w.stateOf(found) !== d.state) {
            divergence = `decision ${step}: ${d.actor} at ${d.state} — ${
              found < 0 ? 'no such actor' : !w.runnable(found) ? `not runnable (in ${w.stateOf(found)})` : `it is at ${w.stateOf(found)}`
            }`;
            verdict = 'divergence';
            break;
          }
          r = found;
          fail = d.fail === true;
        } else if (opts.frontier && w.anyRunnable()) {
          frontier = w.enabled();
          stateWords = w.hash();
          if (!search) stateHash = hexOf(stateWords);
          break;
        } else if (w.anyRunnable()) {
          divergence = `the schedule ended after ${step} decisions with actors still runnable`;
          verdict = 'divergence';
          break;
        }
      } else {
        r = strategy.choose(w);
        if (r >= 0) fail = strategy.fails(w, r);
      }
      if (r < 0) {
        if (w.fireTimers()) continue;
        verdict = w.quiesce();
        break;
      }
      const track = step === trackAt;
      const violated = w.step(r, fail, track);
      if (track) footprint = w.footprint();
      if (violated) {
        verdict = 'violation';
        break;
      }
    }
  }

  /** A dfs node's result where the run goes on: what the search needs of it. */
  function interim(): RunResult {
    return {
      scenario: s.name, seed, engine, verdict, violations: [], steps: w.steps, preemptions: w.preemptions, time_ns: k.now, traceHash: '', schedule: [], kernel: k,
      frontier, stateHash, stateWords, footprint, actors: [],
    };
  }

  /** The run's result; `copy`: detached from the run's own arrays (the dfs rolls them back). */
  function result(copy: boolean): RunResult {
    const { violations, schedule, scans, contended, blocked } = w;
    return {
      scenario: s.name, seed, engine, verdict, violations: copy ? violations.slice() : violations, steps: w.steps, preemptions: w.preemptions, time_ns: k.now,
      traceHash: w.traceHash(), schedule: copy ? schedule.slice() : schedule, kernel: k, divergence, frontier, stateHash, stateWords,
      scans: copy ? scans?.slice() : scans, contended: contended && [...contended].sort(), blocked: blocked && [...blocked].sort(), footprint,
      actors: w.actorResults(copy),
    };
  }
}

/**
 * dfs: a node takes a snapshot only this many levels below the nearest one; going back to
 * a node between is a restore and a replay of at most SNAPSHOT_EVERY - 1 steps (a step
 * costs a tenth of a snapshot of the model).
 */
const SNAPSHOT_EVERY = 5;
