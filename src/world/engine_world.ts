/**
 * The World (./world.ts) over the current engine: the kernel and its objects, the actors
 * and their compiled charts (or XState interpreters), the bus with the monitors on it, and
 * the state hashed and snapshotted in components (./components.ts). A step is one actor's
 * STEP transition, the monitors checking after it; which actor, and whether its injection
 * point fails, the caller says.
 */
import { createActor, type AnyActorRef, type InspectionEvent, type Observer } from 'xstate';
import type { Scenario } from '../scenario/schema.ts';
import type { Kernel } from '../memory/kernel.ts';
import { ModelViolation } from '../memory/kernel.ts';
import { type CNode, type CTransition, type CompiledTaskChart, type StepEvent, enabledStep, fireStep, takeStep } from '../engine/task_chart.ts';
import type { InjectionPoint } from '../engine/chart.ts';
import { type Monitor, allMonitors, getActorKind } from '../registry.ts';
import type { Violation } from '../bus/events.ts';
import type { Actor } from '../sched/actor.ts';
import { TraceHash } from '../sched/hash.ts';
import { formatTraceLine } from '../sched/trace.ts';
import { type SchedulerView, setSchedulerView } from '../sched/view.ts';
import { buildKernel, chartFor, machineFor, populateFiles, statePath } from './build.ts';
import { type Footprint, FootprintTracker, ObjectNames } from './footprint.ts';
import { Snapshot } from './snapshot.ts';
import { markOpaque } from './shape.ts';
import { type StateVector, inVector } from '../vector/state_vector.ts';
import { StateHasher } from './state_hash.ts';
import { type ComponentsSnapshot, type MonitorState, StateComponents } from './components.ts';
import { ActorRecords } from './actor_records.ts';
import type { ActorResult, Decision, Engine, Saved, Verdict, World } from './world.ts';

type InspectionObserver = Observer<InspectionEvent> | ((ev: InspectionEvent) => void);

/** What about a run is the model's: how it is run, observed and checked (not how its actors are chosen). */
export interface WorldOptions {
  engine?: Engine;
  /** Record the decisions taken (on by default). */
  record?: boolean;
  /** Only these monitors (by invariant name); default all registered. */
  monitors?: readonly string[];
  /** Receives each ftrace-like line (only built when given). */
  trace?: (line: string) => void;
  /** Collect the SCAN_* results, the contended locks and the blocked points. */
  collect?: boolean;
  /** Called once the kernel, the actors and the bus exist, before the files are populated. */
  observe?: (k: Kernel, actors: readonly Actor[]) => void;
  /** Called with every actor's state: once all have started (step 0), then after each step, after the monitors. */
  onStep?: (step: number, states: readonly string[]) => void;
  /** With engine 'xstate': XState's inspection callback for every actor. */
  inspect?: InspectionObserver;
  /** hash(): hash every state component again from scratch and check it against the incremental hash. Slow: for the tests. */
  checkStateHash?: boolean;
  /** save() and restore() will be used (a dfs): the state is kept in components from the start. */
  snapshots?: boolean;
  /** Steps may record footprints: the objects as the run starts are named, the same in every run. */
  footprints?: boolean;
  /** The caller's own state that goes back with the model on a restore (a driver's random generator). */
  alsoSave?: readonly object[];
}

/**
 * One actor as the world runs it. Where its chart is (`leaf`: the node's number) and whether
 * it has finished are slots of the state vector — state, copied and hashed with it; the
 * rest is the run's wiring and caches.
 */
class Runner {
  /** The STEP transition runnable() found enabled (fast engine), reused by the step. */
  next: CTransition<Actor<any>> | null = null;
  /** The model version (`version` below) `next` was found at: the guards are not evaluated again until a step changes the model. */
  nextAt = -1;
  xactor: AnyActorRef | null = null;
  /** Per state (by its node's index), the names it is known by (made once: a dfs asks for them at every node; none until asked). */
  names: (StateNames | undefined)[] | null = null;
  /** Its locals are slots of the state vector (an extension's may be a plain object, walked with the actor). */
  readonly localsInVector: boolean;

  constructor(
    readonly actor: Actor<any>,
    readonly chart: CompiledTaskChart<Actor<any>>,
    private readonly sv: StateVector,
    /** Its slots: the leaf's node number, then done. */
    private readonly slot: number,
  ) {
    this.localsInVector = inVector(actor.l as object);
  }

  get leaf(): CNode<Actor<any>> {
    return this.chart.nodes[this.sv.w[this.slot]!]!;
  }

  set leaf(n: CNode<Actor<any>>) {
    this.sv.put(this.slot, n.index);
  }

  get done(): boolean {
    return this.sv.w[this.slot + 1] !== 0;
  }

  set done(d: boolean) {
    this.sv.put(this.slot + 1, d ? 1 : 0);
  }
}

/** What a runner at one state is called: the decisions to step it (with a failure injected or not), where it blocks. */
interface StateNames {
  step: Decision;
  fail: Decision;
  blocked: string;
}

function namesAt(r: Runner): StateNames {
  const leaf = r.leaf;
  r.names ??= new Array<StateNames | undefined>(r.chart.nodes.length).fill(undefined);
  let n = r.names[leaf.index];
  if (n === undefined) {
    const actor = r.actor.id;
    const state = leaf.path;
    n = {
      step: Object.freeze({ actor, state }),
      fail: Object.freeze({ actor, state, fail: true }),
      blocked: `${r.actor.kind}: ${state}`,
    };
    r.names[leaf.index] = n;
  }
  return n;
}

/** A saved state: the model, where the run was, and the lengths of what only grows along a path. */
interface WorldSnapshot extends Saved {
  /** The model's state components and the state vector (the actors' charts and locals in it). */
  parts: ComponentsSnapshot;
  /** The run's own state: the actors not finished, in the driver's order, and the trace hash. */
  live: number[];
  trace: readonly [number, number];
  /** The kernel's clocks, which move with no bus event: simulated time, and the step being taken (for reports). */
  now: number;
  /** Each actor's wake-up time (no state by itself: the hash takes the time left). */
  wakeAt: number[];
  stepAt: number;
  stepActor: number;
  stepState: string;
  /**
   * What else the run keeps: the monitors' scratch, the caller's `alsoSave` (null: nothing)
   * — but the within-step scratch of a monitor with reset(), when saved between steps.
   */
  snap: Snapshot | null;
  /** The within-step scratch was not copied: reset() makes it what it was. */
  resets: boolean;
  last: Runner | null;
  preemptions: number;
  grown: number[];
  /**
   * Each runner's enabled STEP transition as runnable() had found it for this state (null:
   * blocked; undefined: not asked) — the state comes back whole on a restore, so what its
   * guards said then holds again, and a dfs going back to a node does not evaluate them anew.
   */
  next: (CTransition<Actor<any>> | null | undefined)[];
}

const NS_PER_STEP = 1000;

export function createWorld(s: Scenario, opts: WorldOptions = {}): World {
  const engine = opts.engine ?? 'fast';
  const record = opts.record ?? true;
  // a world no search copies or hashes lays its structs out plainly (src/vector/struct.ts makePlain)
  const k = buildKernel(s, opts.snapshots === true);
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
  /** The model's state components (made at the start with `snapshots`, else when the state is first hashed). */
  let parts: StateComponents | undefined;
  const monitors: Monitor[] = allMonitors().filter((m) => !opts.monitors || opts.monitors.includes(m.name)).map((m) => {
    // (its state's place among the ghosts: none for a monitor whose memory is in the state vector)
    let i = -1;
    const monitor = m.create({
      k, actors,
      report: (message, actor = k.stepActor) => {
        const violation: Violation = {
          invariant: m.name, message, actor: k.actorName(actor), step: k.step, state: k.stepState,
        };
        k.bus.publish({ kind: 'violation', violation });
      },
      changed: () => {
        if (i >= 0) parts?.touchMonitor(i);
      },
    });
    if (monitor.state) {
      i = ghosts.length;
      ghosts.push({ name: m.name, state: monitor.state });
    }
    return monitor;
  });

  /** The monitors that check something after every step (most do), and when an actor exits. */
  const stepEnders = monitors.filter((m) => m.stepEnd !== undefined);
  const exitWatchers = monitors.filter((m) => m.actorExit !== undefined);

  opts.observe?.(k, actors);
  populateFiles(k, s);

  const stepEv: StepEvent = { type: 'STEP', fail: false };
  const failEv: StepEvent = { type: 'STEP', fail: true };

  s.actors.forEach((spec, ix) => {
    const kind = getActorKind(spec.kind)!;
    const c = chartFor(kind, s.variants);
    const actor = actors[ix]!;
    const r = new Runner(actor, c.fast, k.sv, k.sv.alloc(2, `${spec.id} chart`));
    r.leaf = c.fast.root;
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

  // the actors' outcomes and system calls' results: slots of the vector, written as they change
  const records = new ActorRecords(k.sv, actors);

  // what is made from now on (an mm forked during the run, its locks) is laid out plainly:
  // the kernel's, in its component, as any object made during the run
  k.sv.plain = true;

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
   * driver asks runnable() of the same actor several times in a step (the schedule's check,
   * the frontier, the blocked points).
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
  const anyRunnable = (): boolean => runners.some((x) => runnable(x));

  function exitActor(r: Runner): void {
    r.done = true;
    live.splice(live.indexOf(r.actor.ix), 1);
    if (r.actor.outcome === null) r.actor.outcome = 'ok';
    k.bus.publish({ kind: 'actor', op: 'exit', actor: r.actor.ix, detail: r.actor.outcome });
    for (let i = 0; i < exitWatchers.length; i++) exitWatchers[i]!.actorExit!(r.actor);
  }

  /** The scenario's failure rate at the step an actor is at (0: no injection point there). */
  function injectRate(x: Runner): number {
    const point = x.leaf.inject;
    return point === undefined ? 0 : (inject[point] ?? 0);
  }

  let step = 0;
  let last: Runner | null = null;
  let preemptions = 0;
  const byId = new Map(runners.map((r) => [r.actor.id, r.actor.ix]));
  // The actors not finished, by index: a driver's candidates for the next step (its
  // uniform draw reorders them in place: deterministic, and no per-step copy).
  const live: number[] = runners.filter((x) => !x.done).map((x) => x.actor.ix);

  const onStep = opts.onStep;
  const leaves = (): string[] => runners.map((x) => x.leaf.path);
  onStep?.(0, leaves());
  // the objects as the run starts are named the same in every run (and, restored in place,
  // at every dfs node): footprints compare
  const names = opts.footprints ? new ObjectNames([k, ...actors.map((a) => a.l), actors]) : null;
  let footprint: Footprint | undefined;
  let stateHasher: StateHasher | undefined;

  // What only grows along a path (the decisions, the violations, the SCAN_* results, the
  // contended locks and blocked points seen) is not copied: going back to a saved state
  // cuts it to its length there.
  // The model is in the state vector (the actors' locals and chart positions: a copy of its
  // slots) and in components (the kernel's own fields, the page store, vmstat, each mm,
  // inode and actor, and what each monitor remembers: see ./components.ts), hashed and
  // snapshotted one by one as the bus says they change; of the run's own state the live
  // list, the trace hash and the clocks are saved by hand (WorldSnapshot), the monitors'
  // scratch and the caller's `alsoSave` snapshotted whole.
  const snapshotRoots = opts.snapshots ? [...monitors.map((m) => m.scratch).filter((x) => x !== undefined), ...(opts.alsoSave ?? [])] : [];
  // (a monitor with reset() keeps its scratch within a step: between two steps that ended
  // with no violation it is what reset() makes it, so a save there copies only the rest)
  const resetters = monitors.filter((m) => m.reset !== undefined && m.scratch !== undefined);
  const keptRoots = snapshotRoots.filter((r) => !resetters.some((m) => m.scratch === r));
  if (opts.snapshots) {
    // (its drivers, the dfs and RunPool, go back only to saves on their path: the vector's
    // saves are where its undo trail stands)
    k.sv.stacked = true;
    markChartsOpaque(runners);
    parts = new StateComponents(k, componentActors(), ghosts);
    k.bus.tap(parts.events(), parts.onEvent);
  }

  /** An actor ended with no step of its own (never started; idle at the end): its outcome into its records, its component touched where it is one. */
  function ended(x: Runner): void {
    records.note(x.actor);
    if (!x.localsInVector) parts?.touchActor(x.actor.ix);
  }

  /** The actors that are state components: those whose locals are not in the vector (an extension's). */
  function componentActors(): Actor<any>[] {
    return runners.filter((x) => !x.localsInVector).map((x) => x.actor);
  }

  const stepIn = (r: Runner, fail: boolean, track: boolean): boolean => {
    if (blocked) {
      for (const ix of live) {
        const x = runners[ix]!;
        if (x !== r && x.actor.wakeAt <= k.now && !runnable(x)) blocked.add(namesAt(x).blocked);
      }
    }
    const preempted = last !== null && last !== r && runnable(last);
    if (preempted) preemptions++;
    last = r;
    // (the actor's state component: its locals when they are not in the state vector, its
    // system calls' results and its outcome — touched below if the step changed them)
    const results = r.actor.results.length;
    const outcome = r.actor.outcome;
    const from = r.leaf;
    k.step = step;
    k.stepActor = r.actor.ix;
    k.stepState = from.path;
    // (a decision is made once per actor and state, frozen, and shared by every run of the world)
    if (record) schedule.push(fail ? namesAt(r).fail : namesAt(r).step);
    const before = view.beforeStep;
    for (let i = 0; i < before.length; i++) before[i]!(r.actor.ix, from);
    try {
      if (r.xactor) {
        r.xactor.send(fail ? failEv : stepEv);
        r.leaf = leafOf(r);
      } else if (track) {
        // the same step on a recording view of the model; the guards are evaluated again
        // through it, since what decides whether a step can run is part of what it reads
        const t = new FootprintTracker(names!, k);
        footprint = t.fp;
        t.trackVector(k.sv, k.bus);
        try {
          r.leaf = fireStep(r.chart, from, t.wrap(r.actor), fail ? failEv : stepEv)!;
        } finally {
          t.untrackVector(k.sv, k.bus);
        }
      } else {
        r.leaf = fail
          ? fireStep(r.chart, from, r.actor, failEv)!
          : takeStep(r.chart, runnable(r) ? r.next! : cannotStep(r), r.actor, stepEv);
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
      for (let i = 0; i < stepEnders.length; i++) stepEnders[i]!.stepEnd!();
      if (violations.length === 0 && r.leaf.kind === 'final' && r.leaf.parent === r.chart.root) exitActor(r);
    }
    if (r.actor.results.length !== results || r.actor.outcome !== outcome) records.note(r.actor);
    // (an actor whose locals are not in the vector, an extension's, is a state component)
    if (parts && !r.localsInVector) parts.touchActor(r.actor.ix);
    onStep?.(step, leaves());
    return violations.length > 0;
  };

  return {
    kernel: k,
    actors,
    live,
    get steps() {
      return step;
    },
    get preemptions() {
      return preemptions;
    },
    get last() {
      return last === null ? -1 : last.actor.ix;
    },
    schedule,
    violations,
    scans,
    contended,
    blocked,

    enabled(into?: Decision[]): Decision[] {
      const open: Decision[] = into ?? [];
      let n = 0;
      for (const x of runners) {
        if (!runnable(x)) continue;
        const names = namesAt(x);
        // a failure at rate 1 is certain (as a seeded run draws it): no branch without it
        const rate = injectRate(x);
        if (rate < 1) open[n++] = names.step;
        if (rate > 0) open[n++] = names.fail;
      }
      // (a length write is a runtime call: only where the list shrank)
      if (open.length !== n) open.length = n;
      return open;
    },
    actorIndex: (id) => byId.get(id) ?? -1,
    runnable: (ix) => runnable(runners[ix]!),
    anyRunnable,
    asleep: (ix) => actors[ix]!.wakeAt > k.now,
    stateOf: (ix) => runners[ix]!.leaf.path,
    injectRate: (ix) => injectRate(runners[ix]!),
    canInject: (ix) => runners[ix]!.leaf.inject !== undefined,

    step: (ix, fail, track = false) => stepIn(runners[ix]!, fail, track),

    /** No actor can run: the earliest timer fires (ties: lowest index) — no choice here. */
    fireTimers(): boolean {
      const sleepers = runners.filter((x) => !x.done && x.actor.wakeAt > k.now);
      if (!sleepers.length) return false;
      const first = sleepers.reduce((x, y) => (y.actor.wakeAt < x.actor.wakeAt ? y : x));
      k.now = first.actor.wakeAt;
      version++; // (the clock is no component's field: the world saves it, the hash takes each sleeper's time left)
      for (const x of sleepers) {
        if (x.actor.wakeAt <= k.now) {
          x.actor.wakeAt = 0;
          k.bus.publish({ kind: 'actor', op: 'wake', actor: x.actor.ix, detail: '' });
        }
      }
      return true;
    },

    quiesce(): Verdict {
      for (const x of runners) {
        if (!x.done && getActorKind(x.actor.kind)!.unborn?.(x.actor)) {
          x.done = true;
          x.actor.outcome = 'never-started';
          ended(x);
        }
      }
      let stuck = runners.filter((x) => !x.done);
      if (stuck.length && stuck.every((x) => getActorKind(x.actor.kind)!.idle?.(x.actor))) {
        // (they exit as a finished actor does: the exit event, the monitors' actorExit)
        for (const x of stuck) {
          x.actor.outcome = getActorKind(x.actor.kind)!.idle!(x.actor);
          exitActor(x);
          ended(x);
        }
        stuck = [];
      }
      if (stuck.length) {
        const who = stuck.map((x) => `${x.actor.id} in ${x.leaf.path} (holding ${k.heldBy(x.actor.ix).join(', ') || 'nothing'})`);
        violations.push({ invariant: 'deadlock', message: `every actor is blocked: ${who.join('; ')}`, actor: '-', step, state: '' });
        return 'deadlock';
      }
      k.stepActor = -1;
      for (const m of monitors) m.quiescent?.();
      if (violations.length) return violations.some((v) => v.invariant.startsWith('liveness')) ? 'liveness' : 'violation';
      return 'ok';
    },

    save(base?: Saved, reuse?: Saved): Saved {
      const b = base as WorldSnapshot | undefined;
      const into = reuse as WorldSnapshot | undefined;
      const saved: WorldSnapshot = {
        parts: parts!.take(b?.parts, into?.parts),
        live: into ? copyInto(into.live, live) : live.slice(), trace: hash.save(),
        now: k.now, wakeAt: into ? copyWakeAt(into.wakeAt, actors) : actors.map((a) => a.wakeAt), stepAt: k.step, stepActor: k.stepActor, stepState: k.stepState,
        snap: null, resets: false, steps: step, last, preemptions,
        grown: [schedule.length, violations.length, scans?.length ?? 0, contended?.size ?? 0, blocked?.size ?? 0],
        next: into?.next ?? new Array<CTransition<Actor<any>> | null | undefined>(runners.length),
      };
      for (let i = 0; i < runners.length; i++) {
        const x = runners[i]!;
        saved.next[i] = x.nextAt === version ? x.next : undefined;
      }
      // (before the first step the scratch holds what building the world announced)
      saved.resets = step > 0 && violations.length === 0 && resetters.length > 0;
      const roots = saved.resets ? keptRoots : snapshotRoots;
      saved.snap = roots.length ? Snapshot.take(roots, into?.snap ?? undefined) : null;
      return saved;
    },

    restore(s: Saved): void {
      const at = s as WorldSnapshot;
      at.snap?.restore();
      if (at.resets) for (let i = 0; i < resetters.length; i++) resetters[i]!.reset!();
      parts!.restore(at.parts); // (and the vector: the actors' records read back with it)
      copyInto(live, at.live);
      hash.restore(at.trace);
      k.now = at.now;
      for (let i = 0; i < actors.length; i++) actors[i]!.wakeAt = at.wakeAt[i]!;
      k.step = at.stepAt;
      k.stepActor = at.stepActor;
      k.stepState = at.stepState;
      version++;
      for (let i = 0; i < runners.length; i++) {
        const x = runners[i]!;
        const t = at.next[i];
        if (t !== undefined) {
          x.next = t;
          x.nextAt = version;
        }
      }
      step = at.steps;
      last = at.last;
      preemptions = at.preemptions;
      cut(schedule, at.grown[0]!);
      cut(violations, at.grown[1]!);
      if (scans) cut(scans, at.grown[2]!);
      if (contended) cutSet(contended, at.grown[3]!);
      if (blocked) cutSet(blocked, at.grown[4]!);
    },

    hash(into?: [number, number]): readonly [number, number] {
      const sh = (stateHasher ??= new StateHasher());
      sh.reset();
      parts ??= new StateComponents(k, componentActors(), ghosts);
      if (opts.checkStateHash) {
        const problems = parts.check(snapshotRoots);
        if (problems.length) throw new Error(`state hash, after decision ${step - 1} (${schedule[step - 1]?.actor} from ${schedule[step - 1]?.state}): ${problems.join('; ')}`);
      }
      parts.hashInto(sh); // (where each actor's chart is, and whether it is done, are in the state vector)
      for (const x of runners) sh.num(x.actor.wakeAt > k.now ? x.actor.wakeAt - k.now : 0);
      if (into === undefined) return sh.digestWords();
      sh.digestInto();
      into[0] = sh.lo;
      into[1] = sh.hi;
      return into;
    },

    footprint: () => footprint,
    traceHash: () => hash.digest(),

    actorResults(copy: boolean): ActorResult[] {
      return runners.map((r) => ({
        id: r.actor.id,
        kind: r.actor.kind,
        outcome: r.done ? r.actor.outcome! : runnable(r) ? 'running' : 'blocked',
        state: r.leaf.path,
        results: copy ? r.actor.results.slice() : r.actor.results,
      }));
    },

    close(): void {
      for (const r of runners) r.xactor?.stop();
    },
  };
}

/** A driver asked a blocked or finished actor to step: its mistake, said as such. */
function cannotStep(r: Runner): never {
  throw new Error(`world: ${r.actor.id} cannot step now (${r.done ? 'it has finished' : `blocked in ${r.leaf.path}`})`);
}

/**
 * Back to the first n elements. (A length write is a runtime call, even to the same length:
 * a search going back one step cuts an element or two, which pop() does inline.)
 */
export function cut(a: unknown[], n: number): void {
  const over = a.length - n;
  if (over <= 0) return;
  if (over > 8) a.length = n;
  else for (let i = 0; i < over; i++) a.pop();
}

/** `to` = a copy of `from`, in place. */
function copyInto(to: number[], from: readonly number[]): number[] {
  if (to.length !== from.length) to.length = from.length;
  for (let i = 0; i < from.length; i++) to[i] = from[i]!;
  return to;
}

/** Each actor's wake-up time into a saved state's array (reused), in place. */
function copyWakeAt(to: number[], actors: readonly Actor<any>[]): number[] {
  for (let i = 0; i < actors.length; i++) to[i] = actors[i]!.wakeAt;
  return to;
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
