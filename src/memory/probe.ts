/**
 * What a guard reads of the objects a task can busy-wait on: the spinlocks whose `free` it
 * tests and the pages whose frozen refcount it tests. Off (null) except while the
 * spin-on-sleeper monitor evaluates a blocked actor's guards to learn what that actor waits
 * for (src/check/spin_on_sleeper.ts). Module state, not model state: nothing of it is in a
 * snapshot or the state hash.
 */
import type { SpinLock } from './locks.ts';

export interface GuardProbe {
  spinLock(l: SpinLock): void;
  frozen(pfn: number): void;
}

export let guardProbe: GuardProbe | null = null;

/** Runs `body` (guards) with `p` told of every spinlock and frozen-page test it makes. */
export function withGuardProbe<T>(p: GuardProbe, body: () => T): T {
  guardProbe = p;
  try {
    return body();
  } finally {
    guardProbe = null;
  }
}

/**
 * Called by every kernel primitive that may sleep (a sleeping lock taken, lock_page, a page
 * allocation that may reclaim), with what it is and the actor: set only by the test that
 * checks each calling step declares `sleeps` in its chart (test/lockdep_monitors.test.ts).
 */
export let mightSleepHook: ((what: string, actor: number) => void) | null = null;

export function setMightSleepHook(fn: ((what: string, actor: number) => void) | null): void {
  mightSleepHook = fn;
}
