/**
 * One run of a scenario: build the kernel and the actors, then step. The scheduler is
 * the only source of choice — which runnable actor steps next, and whether a step's
 * injection point fails — drawn from a seeded generator or read from a recorded
 * schedule. Monitors check after every step; a violation, a deadlock or the step bound
 * ends the run. Same scenario + same seed (or schedule) ⇒ the same trace, byte for byte.
 */
import { createActor, type AnyActorRef, type AnyStateMachine, type InspectionEvent, type Observer } from 'xstate';
type InspectionObserver = Observer<InspectionEvent> | ((ev: InspectionEvent) => void);
import type { Scenario } from '../scenario/schema.ts';
import { Kernel, ModelViolation } from '../memory/kernel.ts';
import { defaultSysfs, type Sysfs } from '../memory/sysfs.ts';
import { VM } from '../memory/mm.ts';
import {
  type CNode, type CTransition, type CompiledTaskChart, type StepEvent, compileTaskChart, enabledStep, fireStep, takeStep,
} from '../engine/task_chart.ts';
import { buildTaskMachine } from '../engine/xstate_chart.ts';
import type { InjectionPoint } from '../engine/chart.ts';
import { type ActorKind, type Monitor, allMonitors, getActorKind, patchedChart } from '../registry.ts';
import type { Actor } from './actor.ts';
import { Rng } from './rng.ts';
import { TraceHash } from './hash.ts';
import type { Violation } from '../bus/events.ts';
import { formatTraceLine } from './trace.ts';
import { Footprint, FootprintTracker, ObjectNames } from '../world/footprint.ts';
import { Snapshot } from '../world/snapshot.ts';
import { markOpaque } from '../world/shape.ts';
import { StateHasher, hexOf } from '../world/state_hash.ts';
import { type ComponentsSnapshot, type MonitorState, StateComponents } from '../world/components.ts';
import { type SchedulerView, setSchedulerView } from './view.ts';

export type Engine = 'fast' | 'xstate';
export type Verdict = 'ok' | 'violation' | 'deadlock' | 'liveness' | 'step-bound' | 'divergence';

/** One scheduler decision, recorded by name so a replay survives unrelated model edits. */
export interface Decision {
  actor: string;
  /** The state the actor stepped from. */
  state: string;
  fail?: boolean;
}

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

export interface ActorResult {
  id: string;
  kind: string;
  /** "ok", or how it ended (SIGSEGV, VM_FAULT_OOM...); "running"/"blocked" if it never finished. */
  outcome: string;
  state: string;
  /** System call results (madvise...), in order. */
  results: string[];
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

interface Runner {
  actor: Actor<any>;
  /** The STEP transition runnable() found enabled (fast engine), reused by the step. */
  next: CTransition<Actor<any>> | null;
  /** The model version (`version` in runSteps) `next` was found at: the guards are not evaluated again until a step changes the model. */
  nextAt: number;
  chart: CompiledTaskChart<Actor<any>>;
  leaf: CNode<Actor<any>>;
  xactor: AnyActorRef | null;
  done: boolean;
  /** Per state, the names it is known by (made once: a dfs asks for them at every node). */
  names: Map<CNode<Actor<any>>, StateNames>;
}

/** What a runner at one state is called: the decisions to step it (with a failure injected or not), where it blocks. */
interface StateNames {
  step: Decision;
  fail: Decision;
  blocked: string;
}

function namesAt(r: Runner): StateNames {
  let n = r.names.get(r.leaf);
  if (!n) {
    const actor = r.actor.id;
    const state = r.leaf.path;
    n = {
      step: Object.freeze({ actor, state }),
      fail: Object.freeze({ actor, state, fail: true }),
      blocked: `${r.actor.kind}: ${state}`,
    };
    r.names.set(r.leaf, n);
  }
  return n;
}

/** Compiled charts are cached per (definition, variant set). */
const compiledCache = new WeakMap<object, Map<string, { fast: CompiledTaskChart<any>; machine: AnyStateMachine | null }>>();

function chartFor(kind: ActorKind, variants: readonly string[]) {
  let byVariants = compiledCache.get(kind.chart);
  if (!byVariants) compiledCache.set(kind.chart, (byVariants = new Map()));
  const key = variants.join(',');
  let c = byVariants.get(key);
  if (!c) {
    const def = patchedChart(kind.chart, variants);
    c = { fast: compileTaskChart(def), machine: null };
    byVariants.set(key, c);
  }
  return c;
}

/** An actor kind's compiled chart with the variants applied (cached: the one the scheduler runs). */
export function compiledChart(kind: ActorKind, variants: readonly string[]): CompiledTaskChart<Actor<any>> {
  return chartFor(kind, variants).fast;
}

export function machineFor(kind: ActorKind, variants: readonly string[]): AnyStateMachine {
  const c = chartFor(kind, variants);
  if (!c.machine) c.machine = buildTaskMachine(c.fast.def);
  return c.machine;
}

const NS_PER_STEP = 1000;

function sysfsFor(s: Scenario): Sysfs {
  const d = defaultSysfs(s.hpage_pmd_nr);
  const o = s.sysfs;
  return {
    enabled: o.enabled ?? d.enabled,
    defrag: o.defrag ?? d.defrag,
    use_zero_page: o.use_zero_page ?? d.use_zero_page,
    shmem_enabled: o.shmem_enabled ?? d.shmem_enabled,
    khugepaged: { ...d.khugepaged, ...(o.khugepaged ?? {}) },
  };
}

/** Builds the kernel and its objects from the scenario. */
export function buildKernel(s: Scenario): Kernel {
  const k = new Kernel({ hpagePmdNr: s.hpage_pmd_nr, sysfs: sysfsFor(s), config: s.config, variants: s.variants });
  k.liveness = s.liveness;
  for (const f of s.files) k.createInode(f.name, f.shmem, f.size).huge = f.huge;
  for (const m of s.mms) {
    const mm = k.createMm(m.name, -1);
    mm.users = 0;
    for (const v of m.vmas) {
      const flags = v.flags.reduce((acc, f) => acc | VM[f.slice(3) as keyof typeof VM], 0);
      const file = v.file === undefined ? -1 : k.inodes.find((i) => i.name === v.file)!.id;
      mm.vmas.push({ start: v.start, end: v.start + v.size, flags, pgoff: v.pgoff, file });
    }
  }
  return k;
}

/**
 * Files marked `populated`: every page written before the run starts — a small page in
 * the page cache, uptodate, on the LRU, holding its own data (and dirty in a regular file's
 * `dirty` ranges) — published on the bus like
 * any other change, so the monitors start from the same state.
 */
export function populateFiles(k: Kernel, s: Scenario): void {
  for (const f of s.files) {
    if (!f.populated) continue;
    const ino = k.inodeByName(f.name)!;
    if (!f.cached && !ino.shmem) {
      // on disk only: a read fault or collapse_file's readahead brings each page in
      for (let index = 0; index < f.size; index++) ino.setExpected(index, k.newToken());
      continue;
    }
    // per offset: 0 a page, 1 in swap, 2 a hole
    const swapped = new Uint8Array(f.size);
    for (const r of f.swapped) swapped.fill(1, r.offset, r.offset + r.size);
    for (const r of f.holes) swapped.fill(2, r.offset, r.offset + r.size);
    const dirty = new Uint8Array(f.size);
    for (const r of f.dirty) dirty.fill(1, r.offset, r.offset + r.size);
    let inSwap = 0;
    let holes = 0;
    for (let index = 0; index < f.size; index++) {
      if (swapped[index] === 2) {
        holes++;
        continue;
      }
      if (swapped[index]) {
        // written, then swapped out by shmem_writepage: only a swap entry in the page cache
        const token = k.newToken();
        ino.setExpected(index, token);
        k.cacheSet(ino, index, k.swapOut(token, -1), -1);
        inSwap++;
        continue;
      }
      const pfn = k.pages.alloc(0, false, -1); // its one reference is the page cache's
      if (ino.shmem) k.pages.setFlag(pfn, 'swapbacked');
      k.pages.mapping[pfn] = ino.id;
      k.pages.index[pfn] = index;
      const token = k.newToken();
      k.pages.data[pfn] = token;
      ino.setExpected(index, token);
      k.pages.setUptodate(pfn, -1);
      k.pages.lruAdd(pfn, -1);
      k.cacheSet(ino, index, pfn, -1);
      // written through a writable fd before the run (the model keeps PG_dirty, not PAGECACHE_TAG_DIRTY)
      if (dirty[index]) k.pages.setDirty(pfn, -1);
    }
    const cached = f.size - inSwap - holes;
    ino.mapping.nrpages += cached;
    k.count('nr_file_pages', cached, -1);
    if (ino.shmem) {
      ino.alloced += cached + inSwap;
      ino.swapped += inSwap;
      k.count('nr_shmem', cached, -1);
    }
  }
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
  const record = opts.record ?? true;
  const k = buildKernel(s);
  const rng = new Rng(seed);
  const hash = new TraceHash();
  const violations: Violation[] = [];
  const schedule: Decision[] = [];
  const inject = s.inject as Partial<Record<InjectionPoint, number>>;

  // actors
  const runners: Runner[] = [];
  const actors: Actor<any>[] = [];
  k.actorDone = (ix) => runners[ix]?.done ?? false;
  k.setActors(s.actors.map((a) => a.id));
  s.actors.forEach((spec, ix) => {
    const kind = getActorKind(spec.kind)!;
    kind.attach?.(spec, k);
    const actor: Actor<any> = {
      ix, id: spec.id, pid: 100 + ix, comm: kind.comm, cpu: ix % s.nr_cpus, kind: spec.kind,
      k, l: kind.locals(spec, k), wakeAt: 0, outcome: null, results: [],
    };
    actors.push(actor);
  });

  // the bus: violations are recorded, the tracer prints
  k.bus.on('violation').subscribe((e) => violations.push(e.violation));
  if (opts.trace) {
    const out = opts.trace;
    k.bus.events$.subscribe((e) => {
      const line = formatTraceLine(e, k, actors);
      if (line !== null) out(line);
    });
  }

  let scans: string[] | undefined;
  let contended: Set<string> | undefined;
  const blocked = opts.collect ? new Set<string>() : undefined;
  if (opts.collect) {
    const sc: string[] = (scans = []);
    const ct = (contended = new Set<string>());
    k.bus.on('scan').subscribe((e) => sc.push(e.result));
    k.bus.on('lock').subscribe((e) => {
      if (e.op === 'trylock_failed') ct.add(e.lock.replace(/\(.*$/, ''));
    });
  }

  // the monitors that check program points see the runners through this (src/sched/view.ts)
  const view: SchedulerView = {
    leaf: (ix) => runners[ix]!.leaf,
    runnable: (ix) => runnable(runners[ix]!),
    beforeStep: [],
  };
  setSchedulerView(k, view);

  // monitors
  // (and those that remember something: their states are state components, announced
  // by their changed() calls)
  const ghosts: MonitorState[] = [];
  /** The model's state components (made at the start of a dfs, else when the state is first hashed). */
  let parts: StateComponents | undefined;
  const monitors: Monitor[] = allMonitors().filter((m) => !opts.monitors || opts.monitors.includes(m.name)).map((m) => {
    const i = ghosts.length;
    const monitor = m.create({
      k, actors,
      report: (message, actor = k.stepActor) => {
        const violation: Violation = {
          invariant: m.name, message, actor: k.actorName(actor), step: k.step, state: k.stepState,
        };
        k.bus.publish({ kind: 'violation', violation });
      },
      changed: () => parts?.touchMonitor(i),
    });
    if (monitor.state) ghosts.push({ name: m.name, state: monitor.state });
    return monitor;
  });

  opts.observe?.(k, actors);
  populateFiles(k, s);

  const stepEv: StepEvent = { type: 'STEP', fail: false };
  const failEv: StepEvent = { type: 'STEP', fail: true };

  s.actors.forEach((spec, ix) => {
    const kind = getActorKind(spec.kind)!;
    const c = chartFor(kind, s.variants);
    const actor = actors[ix]!;
    const r: Runner = { actor, next: null, nextAt: -1, chart: c.fast, leaf: c.fast.root, xactor: null, done: false, names: new Map() };
    markOpaque(r.names); // a cache, not state: a snapshot keeps it as it is
    k.bus.publish({ kind: 'actor', op: 'start', actor: ix, detail: spec.kind });
    if (engine === 'xstate') {
      const xa = createActor(machineFor(kind, s.variants), { input: { a: actor }, id: spec.id, inspect: opts.inspect });
      xa.subscribe({ error: () => {} });
      xa.start();
      r.xactor = xa;
      r.leaf = leafOf(r);
    } else {
      r.leaf = c.fast.start(actor);
    }
    r.done = r.leaf.kind === 'final' && r.leaf.parent === r.chart.root;
    runners.push(r);
  });

  function leafOf(r: Runner): CNode<Actor<any>> {
    const snap = r.xactor!.getSnapshot();
    if (snap.status === 'error') throw snap.error;
    const path = statePath(snap.value);
    const n = r.chart.byPath.get(path);
    if (!n) throw new Error(`${r.actor.id}: XState is in '${path}', which the compiled chart does not have`);
    return n;
  }

  /**
   * The model's version: a new one after every step, timer and restore. What a guard reads
   * is model state, so within one version an actor's enabled step is found once — though a
   * step asks runnable() of the same actor several times (the schedule's check, the
   * frontier, the blocked points).
   */
  let version = 0;
  function runnable(r: Runner): boolean {
    if (r.done || r.actor.wakeAt > k.now) return false;
    if (r.xactor) return r.xactor.getSnapshot().can(stepEv);
    if (r.nextAt !== version) {
      r.next = enabledStep(r.leaf, r.actor, stepEv);
      r.nextAt = version;
    }
    return r.next !== null;
  }

  /** No actor can run: the earliest timer fires (ties: lowest index) — no choice here. */
  function fireTimers(): boolean {
    const sleepers = runners.filter((x) => !x.done && x.actor.wakeAt > k.now);
    if (!sleepers.length) return false;
    const first = sleepers.reduce((x, y) => (y.actor.wakeAt < x.actor.wakeAt ? y : x));
    k.now = first.actor.wakeAt;
    version++;
    parts?.touchKernel();
    for (const x of sleepers) {
      if (x.actor.wakeAt <= k.now) {
        x.actor.wakeAt = 0;
        k.bus.publish({ kind: 'actor', op: 'wake', actor: x.actor.ix, detail: '' });
      }
    }
    return true;
  }

  function exitActor(r: Runner): void {
    r.done = true;
    live.splice(live.indexOf(r), 1);
    if (r.actor.outcome === null) r.actor.outcome = 'ok';
    k.bus.publish({ kind: 'actor', op: 'exit', actor: r.actor.ix, detail: r.actor.outcome });
    for (const m of monitors) m.actorExit?.(r.actor);
  }

  let verdict: Verdict = 'ok';
  let divergence: string | undefined;
  let step = 0;
  const byId = new Map(runners.map((r) => [r.actor.id, r]));
  // Candidates for the next step: the actors not finished. A uniformly random enabled
  // actor is drawn by rejection from a shrinking pool (a lazily shuffled permutation),
  // so a step costs about (actors / enabled actors) guard checks, not one per actor.
  // (the draw reorders `live` in place: deterministic, and no per-step copy)
  const live: Runner[] = runners.filter((x) => !x.done);
  const strategy = opts.strategy ?? 'random';
  // PCT (Burckhardt et al., ASPLOS 2010): priorities d..d+n-1 in random order; change point
  // i (1 <= i < d) at a random step lowers the actor running then to priority d-i.
  const pctDepth = Math.max(1, opts.pctDepth ?? 3);
  const priority: number[] = [];
  const changeAt = new Map<number, number>();
  let pctFairAt = 0;
  if (strategy === 'pct' && !opts.schedule) {
    const order = runners.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    order.forEach((ix, rank) => (priority[ix] = pctDepth + rank));
    const span = Math.max(1, opts.pctSteps ?? Math.min(maxSteps, 1000));
    for (let i = 1; i < pctDepth; i++) changeAt.set(rng.below(span), pctDepth - i);
    // Strict priorities are unfair: a retry loop (get_huge_zero_page's cmpxchg failing
    // while the shrinker sits between its cmpxchg and xchg) spins forever if the loop has
    // the higher priority. As in Coyote, the run turns fair (uniform random) after a while.
    pctFairAt = 4 * span;
  }
  /** The scenario's failure rate at the step an actor is at (0: no injection point there). */
  function injectRate(x: Runner): number {
    const point = x.leaf.inject;
    return point === undefined ? 0 : (inject[point] ?? 0);
  }

  /** A uniformly random runnable actor (see `live` above). */
  function uniformChoice(): Runner | null {
    let n = live.length;
    while (n > 0) {
      const i = n === 1 ? 0 : rng.below(n);
      const x = live[i]!;
      if (runnable(x)) return x;
      live[i] = live[n - 1]!;
      live[n - 1] = x;
      n--;
    }
    return null;
  }

  function highestPriority(): Runner | null {
    let best = -1;
    let r: Runner | null = null;
    for (const x of live) {
      if (priority[x.actor.ix]! > best && runnable(x)) {
        best = priority[x.actor.ix]!;
        r = x;
      }
    }
    return r;
  }

  /** PCT: the highest-priority runnable actor; at a change point it drops below every other first. */
  function pctChoice(): Runner | null {
    const r = highestPriority();
    const lowered = changeAt.get(step);
    if (r === null || lowered === undefined) return r;
    priority[r.actor.ix] = lowered;
    return highestPriority();
  }

  const onStep = opts.onStep;
  const leaves = (): string[] => runners.map((x) => x.leaf.path);
  onStep?.(0, leaves());
  const search = engine === 'fast' && opts.frontier ? opts.search : undefined;
  /** The decisions to follow: the schedule given, or the prefix of the dfs node being run. */
  let sched: readonly Decision[] | undefined = opts.schedule;
  let trackAt = opts.footprint && sched && engine === 'fast' ? sched.length - 1 : -1;
  // the objects as the run starts are named the same in every run (and, restored in place,
  // at every dfs node): footprints compare
  const names = trackAt >= 0 || search ? new ObjectNames([k, ...actors.map((a) => a.l), actors]) : null;
  let footprint: Footprint | undefined;

  let last: Runner | null = null;
  let preemptions = 0;
  let stateHasher: StateHasher | undefined;
  let frontier: Decision[] | undefined;
  let stateHash: string | undefined;
  let stateWords: readonly [number, number] | undefined;
  // dfs: the node being run, the path of decisions the model is at, and snapshots of nodes
  // on that path (always the start; then the nodes whose children are being run)
  let node: unknown;
  const path: Decision[] = [];
  const snapshots: (NodeSnapshot | undefined)[] = [];
  const spare: NodeSnapshot[] = [];
  // What only grows along a path (the decisions, the violations, the SCAN_* results, the
  // contended locks and blocked points seen) is not copied: going back to a node cuts it
  // to its length there.
  // The model is in components (the kernel's own fields, the page store, vmstat, each mm,
  // inode and actor, and what each monitor remembers: see src/world/components.ts),
  // hashed and snapshotted one by one as the bus says they change; the run's own state
  // (the runners, the monitors' scratch, the trace hash, the random generator) is
  // snapshotted whole.
  const snapshotRoots = search ? [actors, runners, live, monitors.map((m) => m.scratch), hash, rng] : [];
  if (search) {
    markChartsOpaque(runners);
    parts = new StateComponents(k, actors, ghosts);
    k.bus.tap(StateComponents.EVENTS, parts.onEvent);
  }
  const snapshotHere = (depth: number) => {
    const prev = snapshots[deepestSnapshot()]?.parts;
    snapshots[depth] = {
      parts: parts!.take(prev),
      snap: Snapshot.take(snapshotRoots, (snapshots[depth] ?? spare.pop())?.snap), step, last, preemptions,
      grown: [schedule.length, violations.length, scans?.length ?? 0, contended?.size ?? 0, blocked?.size ?? 0],
    };
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
      const at = snapshots[d]!;
      at.snap.restore();
      parts!.restore(at.parts);
      version++;
      ({ step, last, preemptions } = at);
      cut(schedule, at.grown[0]!);
      cut(violations, at.grown[1]!);
      if (scans) cut(scans, at.grown[2]!);
      if (contended) cutSet(contended, at.grown[3]!);
      if (blocked) cutSet(blocked, at.grown[4]!);
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

  for (const r of runners) r.xactor?.stop();
  return result(false);

  /** Steps until the run ends, or (with a frontier) until the schedule does. */
  function advance(): void {
    for (;;) {
      let r: Runner | null = null;
      let fail = false;
      if (step >= maxSteps) {
        if (runners.some((x) => runnable(x))) {
          verdict = 'step-bound';
          break;
        }
      }
      if (sched && (step < sched.length || !opts.continueAfterSchedule)) {
        const d = sched[step];
        if (d) {
          const found = byId.get(d.actor);
          if (found && !runnable(found) && found.actor.wakeAt > k.now && !runners.some((x) => runnable(x))) {
            // as when the schedule was recorded: nobody can run, so the earliest timer fires
            fireTimers();
            continue;
          }
          if (!found || !runnable(found) || found.leaf.path !== d.state) {
            divergence = `decision ${step}: ${d.actor} at ${d.state} — ${
              !found ? 'no such actor' : !runnable(found) ? `not runnable (in ${found.leaf.path})` : `it is at ${found.leaf.path}`
            }`;
            verdict = 'divergence';
            break;
          }
          r = found;
          fail = d.fail === true;
        } else if (opts.frontier && runners.some((x) => runnable(x))) {
          frontier = [];
          for (const x of runners) {
            if (!runnable(x)) continue;
            const names = namesAt(x);
            // a failure at rate 1 is certain (as a seeded run draws it): no branch without it
            const rate = injectRate(x);
            if (rate < 1) frontier.push(names.step);
            if (rate > 0) frontier.push(names.fail);
          }
          const sh = (stateHasher ??= new StateHasher());
          sh.reset();
          parts ??= new StateComponents(k, actors, ghosts);
          if (opts.checkStateHash) {
            const problems = parts.check(snapshotRoots);
            if (problems.length) throw new Error(`state hash, after decision ${step - 1} (${schedule[step - 1]?.actor} from ${schedule[step - 1]?.state}): ${problems.join('; ')}`);
          }
          parts.hashInto(sh);
          for (const x of runners) {
            sh.num(x.leaf.index);
            sh.num(x.actor.wakeAt > k.now ? x.actor.wakeAt - k.now : 0);
            sh.value(x.done);
          }
          stateWords = sh.digestWords();
          if (!search) stateHash = hexOf(stateWords);
          break;
        } else if (runners.some((x) => runnable(x))) {
          divergence = `the schedule ended after ${step} decisions with actors still runnable`;
          verdict = 'divergence';
          break;
        }
      } else if (strategy === 'guided') {
        const d = opts.guide?.[step];
        const want = d ? byId.get(d.actor) : undefined;
        if (want && runnable(want)) {
          r = want;
          fail = d!.fail === true && want.leaf.inject !== undefined;
        } else if (last && runnable(last)) r = last;
        else r = runners.find((x) => runnable(x)) ?? null;
      } else {
        r = strategy === 'pct' && step < pctFairAt ? pctChoice() : uniformChoice();
        if (r) {
          const p = injectRate(r);
          if (p > 0) fail = rng.float() < p;
        }
      }
      if (blocked && r) {
        for (const x of live) {
          if (x !== r && x.actor.wakeAt <= k.now && !runnable(x)) blocked.add(namesAt(x).blocked);
        }
      }
      if (r === null) {
        if (fireTimers()) continue;
        for (const x of runners) {
          if (!x.done && getActorKind(x.actor.kind)!.unborn?.(x.actor)) {
            x.done = true;
            x.actor.outcome = 'never-started';
            parts?.touchActor(x.actor.ix);
          }
        }
        let stuck = runners.filter((x) => !x.done);
        if (stuck.length && stuck.every((x) => getActorKind(x.actor.kind)!.idle?.(x.actor))) {
          // (they exit as a finished actor does: the exit event, the monitors' actorExit)
          for (const x of stuck) {
            x.actor.outcome = getActorKind(x.actor.kind)!.idle!(x.actor);
            exitActor(x);
            parts?.touchActor(x.actor.ix);
          }
          stuck = [];
        }
        if (stuck.length) {
          verdict = 'deadlock';
          const who = stuck.map((x) => `${x.actor.id} in ${x.leaf.path} (holding ${k.heldBy(x.actor.ix).join(', ') || 'nothing'})`);
          violations.push({ invariant: 'deadlock', message: `every actor is blocked: ${who.join('; ')}`, actor: '-', step, state: '' });
        } else {
          k.stepActor = -1;
          for (const m of monitors) m.quiescent?.();
          if (violations.length) verdict = violations.some((v) => v.invariant.startsWith('liveness')) ? 'liveness' : 'violation';
        }
        break;
      }

      // step
      const preempted = last !== null && last !== r && runnable(last);
      if (preempted) preemptions++;
      last = r;
      parts?.stepping(r.actor.ix);
      const from = r.leaf;
      k.step = step;
      k.stepActor = r.actor.ix;
      k.stepState = from.path;
      if (record) schedule.push(fail ? { actor: r.actor.id, state: from.path, fail } : { actor: r.actor.id, state: from.path });
      for (const f of view.beforeStep) f(r.actor.ix, from);
      try {
        if (r.xactor) {
          r.xactor.send(fail ? failEv : stepEv);
          r.leaf = leafOf(r);
        } else if (step === trackAt) {
          // the same step on a recording view of the model; the guards are evaluated again
          // through it, since what decides whether a step can run is part of what it reads
          const t = new FootprintTracker(names!, k);
          footprint = t.fp;
          r.leaf = fireStep(r.chart, from, t.wrap(r.actor), fail ? failEv : stepEv)!;
        } else {
          r.leaf = fail
            ? fireStep(r.chart, from, r.actor, failEv)!
            : takeStep(r.chart, r.next!, r.actor, stepEv);
        }
      } catch (e) {
        if (!(e instanceof ModelViolation)) throw e;
      }
      step++;
      version++;
      k.now += NS_PER_STEP;
      hash.word((r.actor.ix << 16) ^ from.index);
      hash.word((r.leaf.index << 1) | (fail ? 1 : 0));
      if (k.bus.wants('step')) k.bus.publish({ kind: 'step', step: step - 1, actor: r.actor.ix, from: from.path, to: r.leaf.path, fail, preempted });
      if (violations.length === 0) {
        if (k.bus.wants('step_end')) k.bus.publish({ kind: 'step_end', step: step - 1, actor: r.actor.ix });
        for (const m of monitors) m.stepEnd?.();
        if (violations.length === 0 && r.leaf.kind === 'final' && r.leaf.parent === r.chart.root) exitActor(r);
      }
      onStep?.(step, leaves());
      if (violations.length) {
        verdict = 'violation';
        break;
      }
    }
  }


  /** A dfs node's result where the run goes on: what the search needs of it. */
  function interim(): RunResult {
    return {
      scenario: s.name, seed, engine, verdict, violations: [], steps: step, preemptions, time_ns: k.now, traceHash: '', schedule: [], kernel: k,
      frontier, stateHash, stateWords, footprint, actors: [],
    };
  }

  /** The run's result; `copy`: detached from the run's own arrays (the dfs rolls them back). */
  function result(copy: boolean): RunResult {
    return {
      scenario: s.name, seed, engine, verdict, violations: copy ? violations.slice() : violations, steps: step, preemptions, time_ns: k.now,
      traceHash: hash.digest(), schedule: copy ? schedule.slice() : schedule, kernel: k, divergence, frontier, stateHash, stateWords,
      scans: copy ? scans?.slice() : scans, contended: contended && [...contended].sort(), blocked: blocked && [...blocked].sort(), footprint,
      actors: runners.map((r) => ({
        id: r.actor.id,
        kind: r.actor.kind,
        outcome: r.done ? r.actor.outcome! : runnable(r) ? 'running' : 'blocked',
        state: r.leaf.path,
        results: copy ? r.actor.results.slice() : r.actor.results,
      })),
    };
  }
}

/**
 * dfs: a node takes a snapshot only this many levels below the nearest one; going back to
 * a node between is a restore and a replay of at most SNAPSHOT_EVERY - 1 steps (a step
 * costs a tenth of a snapshot of the model).
 */
const SNAPSHOT_EVERY = 5;

/** A dfs node's snapshot: the model, where the run was, and the lengths of what only grows along a path. */
interface NodeSnapshot {
  /** The model's state components. */
  parts: ComponentsSnapshot;
  /** The run's own state. */
  snap: Snapshot;
  step: number;
  last: Runner | null;
  preemptions: number;
  grown: number[];
}

/** Back to the first n elements (a length write is a runtime call, even to the same length: made only when it cuts). */
function cut(a: unknown[], n: number): void {
  if (a.length > n) a.length = n;
}

/** Back to the first n elements added (a Set iterates in insertion order). */
function cutSet(set: Set<unknown>, n: number): void {
  if (set.size <= n) return;
  let i = 0;
  for (const x of set) if (i++ >= n) set.delete(x);
}


/**
 * The compiled charts' objects a runner points to (the chart, its nodes, its transitions):
 * shared, never changed by a run — a snapshot keeps them by reference.
 */
function markChartsOpaque(runners: readonly Runner[]): void {
  for (const c of new Set(runners.map((r) => r.chart))) {
    markOpaque(c);
    for (const n of c.nodes) {
      markOpaque(n);
      for (const list of [n.step, n.always, n.onDone]) for (const t of list) markOpaque(t);
    }
  }
}

/** XState's state value as a dotted path to the active leaf. */
export function statePath(value: unknown): string {
  const parts: string[] = [];
  let v = value;
  while (v !== null && typeof v === 'object') {
    const [key, inner] = Object.entries(v as Record<string, unknown>)[0]!;
    parts.push(key);
    v = inner;
  }
  parts.push(String(v));
  return parts.join('.');
}
