/** The task chart's helpers over the task's current mm, shared by its per-syscall files. */
import type { Actor } from '../src/sched/actor.ts';
import type { MmStruct } from '../src/memory/mm.ts';
import { SLOT_HOLE } from '../src/memory/address_space.ts';
import type { TaskLocals } from './task.ts';

export type A = Actor<TaskLocals>;


// ---- helpers over the task's current mm ---------------------------------------------------

export function mmOf(a: A): MmStruct {
  const mm = a.k.mmByName(a.l.mmName);
  if (!mm) throw new Error(`no mm ${a.l.mmName}`);
  return mm;
}
/** The task's mm once it can run in it (a fork child's mm only after dup_mmap()). */
export function runnableMm(a: A): MmStruct | undefined {
  const mm = a.k.mmByName(a.l.mmName);
  return mm && !mm.forking ? mm : undefined;
}
export function lockPtl(a: A, mm: MmStruct = mmOf(a)): void {
  a.k.spinLock(mm.pageTableLock, a.ix);
}
export function unlockPtl(a: A, mm: MmStruct = mmOf(a)): void {
  a.k.spinUnlock(mm.pageTableLock, a.ix);
}

/** The pmd index of the address being faulted or split (l.vpn), and of the zap/copy cursor. */
export const pmdIndex = (a: A) => Math.floor(a.l.vpn / a.k.HPAGE_PMD_NR);
export const curPmdIx = (a: A) => a.l.cursor.at(a.l.ci)!;

/** The punch's window opens (the truncation monitor's ghost): which offsets of [start, end) held something. */
export function publishPunchBegin(a: A, ino: number, start: number, end: number): void {
  if (!a.k.bus.wants('punch_begin')) return;
  const slots = a.k.inodes[ino]!.mapping.slots;
  const present = new Uint8Array(Math.max(0, end - start));
  for (let i = start; i < Math.min(end, a.k.inodes[ino]!.mapping.nrSlots); i++) if (slots[i] !== SLOT_HOLE) present[i - start] = 1;
  a.k.bus.publish({ kind: 'punch_begin', ino, start, end, present, actor: a.ix });
}
