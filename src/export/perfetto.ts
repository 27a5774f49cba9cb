/**
 * A run as a Chrome trace-event JSON file for ui.perfetto.dev (docs/exports.md).
 *
 * Every actor is a process with one thread, named `<comm>-<pid> (<actor id>)` like the
 * ftrace prefix, tid = pid. On its thread track, properly nested complete slices:
 *   - the kernel functions it is in: the compound states of its chart (cat "function"),
 *     named by the state's meta.kernel function where it has one, entered and left at the
 *     end of the step that crossed the boundary;
 *   - each atomic step it took (cat "step"), named by the program point it stepped from,
 *     the kernel line it models in args.kernel.
 * Lock holds (acquire → release on the bus) are async slices in the actor's process, one
 * track per lock name (cat "lock"): they need not nest with the functions (a function may
 * return holding a lock). Instants mark results: SCAN_* (scan), system-call return
 * values (syscall), how the actor exited (exit), failed trylocks (lock), violations.
 *
 * Time is simulated: k.now in ns (each atomic step takes 1 µs; sleeps jump the clock),
 * written in µs as the format wants. Nothing here reads a clock or draws a random number:
 * the same scenario and seed (or schedule) give the same bytes.
 */
import type { BusEvent } from '../bus/events.ts';
import type { StateMeta } from '../engine/chart.ts';
import type { Kernel } from '../memory/kernel.ts';
import { getActorKind } from '../registry.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { Actor } from '../sched/actor.ts';
import { type Decision, type Engine, type RunResult, compiledChart, run } from '../sched/run.ts';

export interface TraceEvent {
  name: string;
  cat?: string;
  ph: 'M' | 'X' | 'b' | 'e' | 'i';
  ts?: number;
  dur?: number;
  pid: number;
  tid?: number;
  s?: 't' | 'g';
  id2?: { local: string };
  args?: Record<string, unknown>;
}

export interface PerfettoTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ns';
}

export interface PerfettoOptions {
  seed?: number;
  engine?: Engine;
  /** Replay these decisions (a replay file's) instead of drawing from the seed. */
  schedule?: readonly Decision[];
  /** Step bound (default: the scenario's max_steps). */
  maxSteps?: number;
}

interface Frame {
  path: string;
  start: number;
}

interface Pending {
  ev: TraceEvent;
  /** Nesting depth on the track (X only): the tie-break for slices with the same extent. */
  depth: number;
  seq: number;
}

const us = (ns: number) => ns / 1000;

/** Per state path, the meta its chart gives it: the compiled chart the scheduler runs (variants applied). */
function metaByPath(kind: string, variants: readonly string[]): Map<string, StateMeta> {
  return new Map(compiledChart(getActorKind(kind)!, variants).nodes.map((n) => [n.path, n.meta]));
}

/** The compound states a leaf path is inside, outermost first. */
const framesOf = (leaf: string): string[] => {
  const parts = leaf.split('.');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('.'));
};

/** The function a compound state models: its meta.kernel's function name, else its own name. */
function frameName(path: string, meta: Map<string, StateMeta>): string {
  const k = meta.get(path)?.kernel;
  return k ? k.split(/[:\s(]/)[0]! : path.slice(path.lastIndexOf('.') + 1);
}

export const trackName = (a: Actor): string => `${a.comm}-${a.pid} (${a.id})`;

export function perfettoTrace(s: Scenario, opts: PerfettoOptions = {}): { trace: PerfettoTrace; result: RunResult } {
  const out: Pending[] = [];
  let seq = 0;
  const push = (ev: TraceEvent, depth = 0) => out.push({ ev, depth, seq: seq++ });
  let k!: Kernel;
  let actors!: readonly Actor[];
  let metas: Map<string, StateMeta>[] = [];
  let stacks: Frame[][] = [];
  const seenResults: number[] = [];
  /** Per actor: lock name → hold count and the async id of the open hold. */
  const holds: Map<string, { n: number; id: number }>[] = [];
  let nextHoldId = 1;
  const lastTrace: ({ event: string; fields: string; at: number } | null)[] = [];
  const busViolations = new Set<string>();
  /** When the next step starts: the clock after the last step, or after the timer that woke someone. */
  let cursor = 0;

  const thread = (ix: number) => ({ pid: actors[ix]!.pid, tid: actors[ix]!.pid });
  const instant = (ix: number, name: string, cat: string, ts: number, args?: Record<string, unknown>) =>
    push({ name, cat, ph: 'i', ts: us(ts), ...thread(ix), s: 't', ...(args ? { args } : {}) });

  const closeFrames = (ix: number, keep: number, at: number) => {
    const st = stacks[ix]!;
    while (st.length > keep) {
      const f = st.pop()!;
      const meta = metas[ix]!.get(f.path);
      push({
        name: frameName(f.path, metas[ix]!), cat: 'function', ph: 'X', ts: us(f.start), dur: us(at - f.start), ...thread(ix),
        args: { state: f.path, ...(meta?.kernel ? { kernel: meta.kernel } : {}) },
      }, st.length);
    }
  };
  const enterFrames = (ix: number, leaf: string, at: number) => {
    const want = framesOf(leaf);
    const st = stacks[ix]!;
    let common = 0;
    while (common < st.length && common < want.length && st[common]!.path === want[common]) common++;
    closeFrames(ix, common, at);
    for (const p of want.slice(common)) st.push({ path: p, start: at });
  };

  const onEvent = (e: BusEvent) => {
    switch (e.kind) {
      case 'step': {
        const ix = e.actor;
        const meta = metas[ix]!.get(e.from);
        push({
          name: e.from.slice(e.from.lastIndexOf('.') + 1), cat: 'step', ph: 'X', ts: us(cursor), dur: us(k.now - cursor), ...thread(ix),
          args: {
            step: e.step, from: e.from, to: e.to,
            ...(meta?.kernel ? { kernel: meta.kernel } : {}),
            ...(e.fail ? { injected: meta?.inject ?? 'fail' } : {}),
          },
        }, stacks[ix]!.length);
        const results = actors[ix]!.results;
        for (let i = seenResults[ix]!; i < results.length; i++) instant(ix, results[i]!, 'syscall', cursor);
        seenResults[ix] = results.length;
        enterFrames(ix, e.to, k.now);
        cursor = k.now;
        break;
      }
      case 'actor':
        if (e.op === 'wake') cursor = k.now;
        else if (e.op === 'exit') instant(e.actor, `exit: ${e.detail}`, 'exit', k.now, { outcome: e.detail });
        break;
      case 'lock': {
        if (e.actor < 0) break;
        if (e.op === 'trylock_failed') {
          instant(e.actor, `trylock failed: ${e.lock}`, 'lock', k.now, { lock: e.lock });
          break;
        }
        const h = holds[e.actor]!;
        const cur = h.get(e.lock) ?? { n: 0, id: 0 };
        if (e.op === 'acquire') {
          if (cur.n === 0) {
            cur.id = nextHoldId++;
            push({ name: e.lock, cat: 'lock', ph: 'b', ts: us(k.now), pid: actors[e.actor]!.pid, id2: { local: `0x${cur.id.toString(16)}` } });
          }
          cur.n++;
          h.set(e.lock, cur);
        } else if (cur.n > 0) {
          // a release of a lock not held is the locks monitor's violation, not a slice
          if (--cur.n === 0) {
            push({ name: e.lock, cat: 'lock', ph: 'e', ts: us(k.now), pid: actors[e.actor]!.pid, id2: { local: `0x${cur.id.toString(16)}` } });
            h.delete(e.lock);
          }
        }
        break;
      }
      case 'trace':
        if (e.actor >= 0) lastTrace[e.actor] = { event: e.event, fields: e.fields, at: k.now };
        break;
      case 'scan': {
        const t = lastTrace[e.actor];
        instant(e.actor, e.result, 'scan', k.now, {
          file: k.inodes[e.ino]?.name ?? e.ino, index: e.start,
          ...(t && t.at === k.now && t.event.startsWith('mm_khugepaged_scan') ? { [t.event]: t.fields } : {}),
        });
        break;
      }
      case 'violation': {
        const v = e.violation;
        busViolations.add(`${v.invariant}\n${v.message}`);
        const ix = actors.findIndex((a) => a.id === v.actor);
        const args = { invariant: v.invariant, message: v.message, step: v.step, state: v.state };
        if (ix >= 0) instant(ix, `violation: ${v.invariant}`, 'violation', k.now, args);
        else push({ name: `violation: ${v.invariant}`, cat: 'violation', ph: 'i', ts: us(k.now), pid: 0, s: 'g', args });
        break;
      }
      default:
        break;
    }
  };

  const result = run(s, {
    seed: opts.seed, engine: opts.engine, schedule: opts.schedule, maxSteps: opts.maxSteps,
    observe: (kernel, as) => {
      k = kernel;
      actors = as;
      metas = as.map((a) => metaByPath(a.kind, s.variants));
      stacks = as.map(() => []);
      as.forEach((a, ix) => {
        seenResults[ix] = 0;
        holds[ix] = new Map();
        lastTrace[ix] = null;
        const name = trackName(a);
        push({ name: 'process_name', ph: 'M', pid: a.pid, args: { name } });
        push({ name: 'thread_name', ph: 'M', pid: a.pid, tid: a.pid, args: { name } });
      });
      k.bus.events$.subscribe(onEvent);
    },
    onStep: (step, states) => {
      if (step === 0) states.forEach((leaf, ix) => enterFrames(ix, leaf, k.now));
    },
  });

  // the end of the run closes what is still open: functions, lock holds
  const end = result.time_ns;
  actors.forEach((a, ix) => {
    closeFrames(ix, 0, end);
    for (const [lock, h] of holds[ix]!) push({ name: lock, cat: 'lock', ph: 'e', ts: us(end), pid: a.pid, id2: { local: `0x${h.id.toString(16)}` } });
  });
  // a deadlock is found by the scheduler, not published on the bus
  for (const v of result.violations) {
    if (busViolations.has(`${v.invariant}\n${v.message}`)) continue;
    push({ name: `violation: ${v.invariant}`, cat: 'violation', ph: 'i', ts: us(end), pid: 0, s: 'g', args: { invariant: v.invariant, message: v.message, step: v.step } });
  }

  // metadata first; then by time; at one time the complete slices first, outermost
  // (longest, then shallowest) first, so the importer sees parents before children
  const rank = (p: Pending) => (p.ev.ph === 'M' ? 0 : p.ev.ph === 'X' ? 1 : 2);
  out.sort((a, b) =>
    (rank(a) === 0 ? 0 : 1) - (rank(b) === 0 ? 0 : 1)
    || (a.ev.ts ?? 0) - (b.ev.ts ?? 0)
    || rank(a) - rank(b)
    || (b.ev.dur ?? 0) - (a.ev.dur ?? 0)
    || a.depth - b.depth
    || a.seq - b.seq);
  return { trace: { traceEvents: out.map((p) => p.ev), displayTimeUnit: 'ns' }, result };
}

/**
 * One event per line: small diffs between runs, and still one JSON document.
 * displayTimeUnit first: Perfetto's importer counts it as "too late" after the events.
 */
export function perfettoJson(t: PerfettoTrace): string {
  return `{"displayTimeUnit":"${t.displayTimeUnit}","traceEvents":[\n${t.traceEvents.map((e) => JSON.stringify(e)).join(',\n')}\n]}\n`;
}
