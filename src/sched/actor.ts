/**
 * An actor: one kernel thread or task running a task chart. `l` holds the C function's
 * locals (index, nr_none, zero_pfn...) and the task's program; the chart's guards and
 * actions read and write them and the shared Kernel.
 */
import type { Kernel } from '../memory/kernel.ts';

export interface Actor<L = unknown> {
  /** Index in the run's actor table. */
  readonly ix: number;
  /** Scenario id, e.g. "T1" or "shrinker". */
  readonly id: string;
  readonly pid: number;
  /** Task comm as ftrace prints it, e.g. "khugepaged" or "fault". */
  readonly comm: string;
  readonly cpu: number;
  readonly kind: string;
  readonly k: Kernel;
  readonly l: L;
  /** Asleep until this simulated time (ns); 0 = not sleeping. */
  wakeAt: number;
  /** What its system calls returned, as strace would print them (e.g. madvise(...) = -1 EAGAIN). */
  results: string[];
  /** How the actor ended ("ok", "SIGSEGV", "VM_FAULT_OOM", a madvise errno...), once it has. */
  outcome: string | null;
}
