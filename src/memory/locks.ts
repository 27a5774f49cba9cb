/**
 * Locks as modelled objects. A sleeping lock that is taken blocks its would-be holder
 * (the task chart's guard on the acquiring state is false until it is free); a trylock
 * fails instead; a spinlock is held across every step until its unlock. Who holds what
 * is tracked, so releasing a lock one does not hold, or finishing while holding one, is
 * a violation (see src/check/locks_monitor.ts).
 */
import type { ActorIx } from '../bus/events.ts';
import { guardProbe } from './probe.ts';

export class SpinLock {
  holder: ActorIx = -1;
  constructor(readonly name: string) {}
  get free(): boolean {
    if (guardProbe !== null) guardProbe.spinLock(this);
    return this.holder < 0;
  }
}

/** rw_semaphore: many readers or one writer. */
export class RwSem {
  readers: ActorIx[] = [];
  writer: ActorIx = -1;
  constructor(readonly name: string) {}
  get readFree(): boolean { return this.writer < 0; }
  get writeFree(): boolean { return this.writer < 0 && this.readers.length === 0; }
}
