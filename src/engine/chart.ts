/**
 * The one definition format every thpsim statechart is written in.
 *
 * A chart is written once, as data close to XState's own config, with guards and
 * actions referenced by name. From that single definition we derive
 *   - the XState v5 machine (src/engine/xstate_chart.ts): what the inspector draws,
 *     what docs embed, what `--engine xstate` executes;
 *   - the compiled fast form (src/engine/task_chart.ts, src/engine/object_chart.ts):
 *     what the scheduler executes when speed matters.
 * test/engine_agreement.test.ts checks that both give the same states for the same
 * events, so the statechart stays the source of truth.
 *
 * The subset used is deliberately small so both forms agree by construction:
 * sibling targets only, transition actions only (no entry/exit), `always` on atomic
 * states only, `onDone` on compound states, parallel regions only at the root of
 * object charts.
 */

/** A guard reference: a named guard, or (object charts) a state-in test. */
export type GuardRef = string | { in: string } | { not: GuardRef } | { and: GuardRef[] } | { or: GuardRef[] };

export interface TransitionDef {
  /** Sibling state name. Omitted only for object-chart self transitions. */
  target?: string;
  guard?: GuardRef;
  actions?: string | readonly string[];
  description?: string;
}

export type Transitions = string | TransitionDef | readonly TransitionDef[];

/** Injection points: a step whose outcome the scheduler may choose to fail. */
export type InjectionPoint =
  | 'alloc_huge_page'
  /** shmem_alloc_hugepage() at fault or write(2) time (__GFP_NORETRY, no compaction): apart from khugepaged's alloc_huge_page. */
  | 'shmem_alloc_hugepage'
  | 'alloc_page'
  | 'pte_alloc_one'
  | 'mem_cgroup_charge'
  | 'isolate_lru_page'
  | 'trylock';

/**
 * Why a step may sleep: the might_sleep() its kernel code passes through (what
 * CONFIG_DEBUG_ATOMIC_SLEEP checks). The sleep-in-atomic and spin-on-sleeper monitors
 * read it from the charts; test/lockdep_monitors.test.ts checks every sleeping kernel
 * primitive a run calls against it.
 */
export type SleepReason =
  /** lock_page(), find_lock_page(), lock_page_or_retry(): waits for PG_locked to clear. */
  | 'lock_page'
  /** down_read / down_write(&mm->mmap_sem). */
  | 'mmap_lock'
  /** i_mmap_lock_read / i_mmap_lock_write(mapping). */
  | 'i_mmap_rwsem'
  /** A page allocation that may enter direct reclaim (GFP_KERNEL, GFP_HIGHUSER_MOVABLE, GFP_TRANSHUGE). */
  | 'alloc_pages'
  /** mem_cgroup_try_charge(..., GFP_KERNEL): may reclaim from the memcg. */
  | 'mem_cgroup_charge'
  /** shmem_swapin(): swap_readpage and waiting for the I/O. */
  | 'swap_in'
  /** page_cache_sync_readahead → ->readpage, and waiting for the I/O. */
  | 'readpage';

/**
 * What a step busy-waits on when its guard is false, beyond a spinlock (a spinlock a guard
 * waits for is found from the guard itself): a retry loop that only another actor can end.
 */
export type SpinReason =
  /** find_get_entry()'s `goto repeat` while page_cache_get_speculative() fails on a page frozen at refcount 0. */
  'page_frozen';

export interface StateMeta {
  /** The kernel function (and seed line, where useful) this state is a program point of. */
  kernel?: string;
  /** This step can be made to fail by the scheduler (failure injection). */
  inject?: InjectionPoint;
  /** This step may sleep (its kernel code reaches might_sleep()), and why. */
  sleeps?: SleepReason;
  /** While its guard is false this step busy-waits (a retry loop), on what. */
  spins?: SpinReason;
}

export interface StateDef {
  type?: 'final' | 'parallel' | 'compound' | 'atomic';
  initial?: string;
  states?: Record<string, StateDef>;
  on?: Record<string, Transitions>;
  always?: Transitions;
  onDone?: Transitions;
  meta?: StateMeta;
  description?: string;
}

export function transitionList(t: Transitions | undefined): TransitionDef[] {
  if (t === undefined) return [];
  if (typeof t === 'string') return [{ target: t }];
  if (Array.isArray(t)) return t as TransitionDef[];
  return [t as TransitionDef];
}

export function actionList(a: string | readonly string[] | undefined): string[] {
  if (a === undefined) return [];
  return typeof a === 'string' ? [a] : [...a];
}

/**
 * A program point whose STEP is one atomic step of the kernel function named in
 * `kernel` (the line it models); `meta` adds e.g. an injection point.
 */
export function step(kernel: string, t: TransitionDef | readonly TransitionDef[], meta: StateMeta = {}): StateDef {
  return { meta: { kernel, ...meta }, on: { STEP: t as Transitions } };
}

/** A final state: the function returns (its compound state's onDone is taken). */
export const final: StateDef = { type: 'final' };

/** Walks a state tree, calling fn with each state's dotted path. */
export function walkStates(
  states: Record<string, StateDef>,
  fn: (path: string, def: StateDef, name: string) => void,
  prefix = '',
): void {
  for (const [name, def] of Object.entries(states)) {
    const path = prefix ? `${prefix}.${name}` : name;
    fn(path, def, name);
    if (def.states) walkStates(def.states, fn, path);
  }
}
