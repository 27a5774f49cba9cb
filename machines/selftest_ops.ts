/**
 * What a kernel selftest does between the system calls under test
 * (tools/testing/selftests/mm/khugepaged.c): write a /sys/kernel/mm/transparent_hugepage
 * tunable (the store functions: enabled_store, shmem_enabled_store, khugepaged's
 * *_store, each refusing an out-of-range value with -EINVAL), and wait — for khugepaged
 * to complete more full scans (the selftest's wait_for_scan), for another actor to
 * finish, or for simulated time to pass (usleep).
 */
import { step } from '../src/engine/chart.ts';
import type { StateDef } from '../src/engine/chart.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import { type Sysfs, checkSysfs } from '../src/memory/sysfs.ts';
import type { A } from './task_mm.ts';

export type SysfsWriteOp = { op: 'sysfs'; file: string; value: string };
export type WaitOp = { op: 'wait'; full_scans: number; actor: number; ms: number };

const THP = '/sys/kernel/mm/transparent_hugepage';

/** The settings after writing `value` to `file`, or null if the store refuses it (-EINVAL). */
export function sysfsAfterWrite(s: Sysfs, file: string, value: string, hpagePmdNr: number): Sysfs | null {
  const next: Sysfs = { ...s, khugepaged: { ...s.khugepaged } };
  if (file.startsWith('khugepaged/')) {
    const key = file.slice('khugepaged/'.length) as keyof Sysfs['khugepaged'];
    (next.khugepaged as unknown as Record<string, number>)[key] = Number(value);
  } else {
    (next as unknown as Record<string, string | number>)[file] = file === 'use_zero_page' ? Number(value) : value;
  }
  return checkSysfs(next, hpagePmdNr) === null ? next : null;
}

export function sysfsWrite(): StateDef {
  return {
    meta: { kernel: 'kernfs_fop_write → transparent_hugepage store' },
    initial: 'store',
    onDone: 'op_done',
    states: {
      store: step('sysfs store: the tunable is set (or -EINVAL, unchanged)', { actions: 'sysfsStore', target: 'returned' }),
      returned: { type: 'final' },
    },
  };
}

export function waitOp(): StateDef {
  return {
    meta: { kernel: 'selftest: wait_for_scan / waitpid / usleep' },
    initial: 'begin',
    onDone: 'op_done',
    states: {
      begin: step('wait: note khugepaged_full_scans (or go to sleep for the time asked)', { actions: 'waitBegin', target: 'until' }),
      until: step('wait: until khugepaged has done the full scans, the actor has finished, or the time has passed', {
        guard: 'waitOver', actions: 'waitEnd', target: 'returned',
      }),
      returned: { type: 'final' },
    },
  };
}

const wOp = (a: A) => a.l.ops[a.l.pc] as unknown as WaitOp;

export const selftestGuards: Record<string, TaskGuard<A>> = {
  waitOver: (a) => {
    const op = wOp(a);
    if (op.full_scans > 0) return a.k.khugepaged.full_scans >= a.l.wait_target;
    if (op.actor >= 0) return a.k.actorDone(op.actor);
    return true; // (asleep until then: the scheduler runs it again only after the time)
  },
};

export const selftestActions: Record<string, TaskAction<A>> = {
  sysfsStore: (a) => {
    const op = a.l.ops[a.l.pc] as unknown as SysfsWriteOp;
    const next = sysfsAfterWrite(a.k.sysfs, op.file, op.value, a.k.HPAGE_PMD_NR);
    a.k.writeSysfs(op.file, op.value, next, a.ix);
    const line = `write("${THP}/${op.file}", "${op.value}") = ${next ? op.value.length + 1 : '-1 EINVAL'}`;
    a.results.push(line);
    a.k.trace(a.ix, 'sysfs_write', line);
  },
  waitBegin: (a) => {
    const op = wOp(a);
    if (op.full_scans > 0) {
      a.l.wait_target = a.k.khugepaged.full_scans + op.full_scans;
      a.k.khugepagedWantScans(a.l.wait_target, a.ix);
    }
    else if (op.ms > 0) a.wakeAt = a.k.now + op.ms * 1_000_000;
  },
  waitEnd: (a) => {
    const op = wOp(a);
    const what = op.full_scans > 0 ? `khugepaged full_scans=${a.k.khugepaged.full_scans}`
      : op.actor >= 0 ? `${a.k.actorName(op.actor)} finished` : `${op.ms} ms`;
    a.k.trace(a.ix, 'wait', what);
  },
};
