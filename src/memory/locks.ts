/**
 * Locks as modelled objects. A sleeping lock that is taken blocks its would-be holder
 * (the task chart's guard on the acquiring state is false until it is free); a trylock
 * fails instead; a spinlock is held across every step until its unlock. Who holds what
 * is tracked, so releasing a lock one does not hold, or finishing while holding one, is
 * a violation (see src/check/locks_monitor.ts).
 *
 * A lock made while its world is built, in a world a search copies and hashes, keeps who
 * holds it in the state vector (src/vector/: `spinlock_t`, `rw_semaphore` below, and no
 * state component of its own); made otherwise (a plain run, or an mm forked during the
 * run), in its own fields.
 */
import type { ActorIx } from '../bus/events.ts';
import { type StateVector, inVector } from '../vector/state_vector.ts';
import { type BoundedArray, array, int, makeStruct, struct } from '../vector/struct.ts';
import { guardProbe } from './probe.ts';

interface SpinLockState {
  /** The actor holding it, or -1. */
  holder: number;
}
const spinlockT = struct<SpinLockState>('spinlock_t', { holder: int(-1) });

export class SpinLock {
  private readonly s: SpinLockState;

  constructor(readonly name: string, sv?: StateVector) {
    this.s = sv && !sv.plain ? makeStruct(sv, spinlockT, name, {}) : { holder: -1 };
  }

  get holder(): ActorIx {
    return this.s.holder;
  }

  set holder(a: ActorIx) {
    this.s.holder = a;
  }

  get free(): boolean {
    if (guardProbe !== null) guardProbe.spinLock(this);
    return this.s.holder < 0;
  }

  /** Who holds it is in the state vector. */
  get inVector(): boolean {
    return inVector(this.s);
  }
}

interface RwSemState {
  writer: number;
  nr_readers: number;
  /** Per actor, how many times it holds the rwsem for read (a multiset: no order). */
  readers: BoundedArray;
}
const rwSemaphore = struct<RwSemState>('rw_semaphore', {
  writer: int(-1),
  nr_readers: int(),
  readers: array('one count an actor', (_b, init) => init.length),
});

/** rw_semaphore: many readers or one writer. */
export class RwSem {
  /** In its own fields: the readers (a multiset), the writer. */
  private readonly own: { readers: ActorIx[]; writer: ActorIx } | null;
  /** In the state vector. */
  private readonly s: RwSemState | null;

  /**
   * The names its holders hold it by (`name:read`, `name:write`), made once: a held-lock
   * lookup by a string built at each call hashes the string again every time.
   */
  readonly readName: string;
  readonly writeName: string;

  constructor(readonly name: string, sv?: StateVector) {
    this.readName = `${name}:read`;
    this.writeName = `${name}:write`;
    if (sv && !sv.plain) {
      this.own = null;
      this.s = makeStruct(sv, rwSemaphore, name, {}, { readers: new Array<number>(sv.bounds.actors).fill(0) as unknown as BoundedArray });
    } else {
      this.own = { readers: [], writer: -1 };
      this.s = null;
    }
  }

  get writer(): ActorIx {
    return this.s ? this.s.writer : this.own!.writer;
  }

  set writer(a: ActorIx) {
    if (this.s) this.s.writer = a;
    else this.own!.writer = a;
  }

  /** How many hold it for read. */
  get nrReaders(): number {
    return this.s ? this.s.nr_readers : this.own!.readers.length;
  }

  addReader(a: ActorIx): void {
    if (this.s) {
      this.s.readers.set(a, this.s.readers.at(a)! + 1);
      this.s.nr_readers++;
    } else this.own!.readers.push(a);
  }

  /** False if `a` does not hold it for read. */
  removeReader(a: ActorIx): boolean {
    if (this.s) {
      const n = this.s.readers.at(a) ?? 0;
      if (n === 0) return false;
      this.s.readers.set(a, n - 1);
      this.s.nr_readers--;
      return true;
    }
    const i = this.own!.readers.indexOf(a);
    if (i < 0) return false;
    this.own!.readers.splice(i, 1);
    return true;
  }

  get readFree(): boolean { return this.writer < 0; }
  get writeFree(): boolean { return this.writer < 0 && this.nrReaders === 0; }

  /** Who holds it is in the state vector. */
  get inVector(): boolean {
    return this.s !== null;
  }
}
