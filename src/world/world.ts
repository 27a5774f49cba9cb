/**
 * The world: the model's whole state and the one way it moves — an actor's step — behind a
 * small interface, as a model checker keeps its model (SPIN: a state vector and a
 * transition function; Coyote and P: the program under test, with the choices left to a
 * strategy). What is open now (`enabled`), one step of a chosen actor (`step`), a copy of
 * the state and its return (`save`, `restore`), the state's hash and the last step's
 * footprint. The world makes no choice and draws no randomness: which actor steps, and
 * whether an injection point fails, is always given to it. Choosing is a driver's —
 * replaying a schedule, random, PCT, guided (src/sched/run.ts, strategy.ts), a dfs in one
 * world (dfs_driver.ts) — and searching many runs the explorer's (src/explore/), both
 * clients of this.
 *
 * Issue 21 goes on from here: the state as typed arrays (a flat vector of words, `save` a
 * copy of it, the hash incremental over words, the footprint word indices) and the drivers
 * as strategies outside the world altogether.
 */
import type { Kernel } from '../memory/kernel.ts';
import type { Violation } from '../bus/events.ts';
import type { Actor } from '../sched/actor.ts';
import type { Footprint } from './footprint.ts';

export type Engine = 'fast' | 'xstate';
export type Verdict = 'ok' | 'violation' | 'deadlock' | 'liveness' | 'step-bound' | 'divergence';

/** One scheduler decision, recorded by name so a replay survives unrelated model edits. */
export interface Decision {
  actor: string;
  /** The state the actor stepped from. */
  state: string;
  fail?: boolean;
}

/** A copy of the world's state (`World.save`), for `World.restore`; opaque to a driver. */
export interface Saved {
  readonly steps: number;
}

/** What one actor's run came to: its outcome, its state, what its system calls returned. */
export interface ActorResult {
  id: string;
  kind: string;
  /** "ok", or how it ended (SIGSEGV, VM_FAULT_OOM...); "running"/"blocked" if it never finished. */
  outcome: string;
  state: string;
  /** System call results (madvise...), in order. */
  results: string[];
}

/**
 * One scenario's model, built and started. Actors are named by their index in the
 * scenario (`actors`); a decision names them by id (`actorIndex`).
 */
export interface World {
  readonly kernel: Kernel;
  readonly actors: readonly Actor<any>[];
  /**
   * The actors not yet exited, by index, in an order a driver may permute in place (the
   * uniform draw does, to pick by rejection from a shrinking pool); the world only removes
   * an actor that exits. Part of the state `save` copies.
   */
  readonly live: number[];
  /** Steps taken. */
  readonly steps: number;
  /** Steps of another actor taken while the one that stepped before could still step. */
  readonly preemptions: number;
  /** The actor that took the last step (-1: none yet). */
  readonly last: number;

  /**
   * The decisions open now: each runnable actor's step, and with its failure injected where
   * its step has an injection point. `into`: an array to fill (emptied first) instead of a new one.
   */
  enabled(into?: Decision[]): Decision[];
  /** The index of the actor with this id, or -1. */
  actorIndex(id: string): number;
  /** Whether actor `ix` can step now: not finished, not asleep, a step enabled. */
  runnable(ix: number): boolean;
  anyRunnable(): boolean;
  /** Whether actor `ix` sleeps on a timer. */
  asleep(ix: number): boolean;
  /** The state path actor `ix` is at. */
  stateOf(ix: number): string;
  /** The scenario's failure rate at actor `ix`'s next step (0: it has no injection point, or none is asked for). */
  injectRate(ix: number): number;
  /** Whether actor `ix`'s next step has an injection point. */
  canInject(ix: number): boolean;

  /**
   * Actor `ix` takes its step (`fail`: with its injection point failing); `track`: record
   * what the step reads and writes (`footprint`). The monitors check after it. True: a
   * violation was reported.
   */
  step(ix: number, fail: boolean, track?: boolean): boolean;
  /** No actor can run: the earliest timer fires. False: nobody sleeps. */
  fireTimers(): boolean;
  /**
   * No actor can run and no timer is set: the unborn never start, idle actors exit, the
   * rest is a deadlock, else the monitors check the quiescent state. The run's verdict.
   */
  quiesce(): Verdict;

  /** A copy of the state; `base`: a copy this one may share unchanged parts with; `reuse`: one to write over. */
  save(base?: Saved, reuse?: Saved): Saved;
  /** Back to a saved state, in place. */
  restore(s: Saved): void;
  /** The state's hash, as two 32-bit words (lo, hi); `into`: a pair to write them in instead of a new one. */
  hash(into?: [number, number]): readonly [number, number];
  /** What the last step taken with `track` read and wrote. */
  footprint(): Footprint | undefined;

  /** The decisions taken (with `record`). */
  readonly schedule: Decision[];
  readonly violations: Violation[];
  /** With `collect`: the SCAN_* results, the locks some trylock failed on, the points an actor waited at. */
  readonly scans: string[] | undefined;
  readonly contended: Set<string> | undefined;
  readonly blocked: Set<string> | undefined;
  /** The hash of the steps taken (actor, from, to, failure), in hex. */
  traceHash(): string;
  actorResults(copy: boolean): ActorResult[];
  /** Stops the XState interpreters (engine 'xstate'). */
  close(): void;
}
