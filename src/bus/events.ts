/**
 * Everything that crosses the bus. Actors' commands to kernel objects, the objects'
 * state changes, scheduler steps, kernel-style trace events, vmstat updates and
 * violations are all BusEvents; monitors, the tracer, the vmstat counters and the
 * inspector learn what happened only from these.
 */
import type { PageCommand } from '../memory/pages.ts';
import type { PmdEvent } from '../../machines/pmd.ts';
import type { MmEvent } from '../../machines/mm_struct.ts';
import type { TeamHeadEvent } from '../../machines/team_head.ts';
import type { MigrateMode, MigrateReason } from '../../machines/migrate.ts';
import type { VmItem } from '../memory/vmstat.ts';

/** Actor index; -1 = the model itself (setup before the run starts). */
export type ActorIx = number;

export interface StepBusEvent {
  kind: 'step';
  step: number;
  actor: ActorIx;
  from: string;
  to: string;
  fail: boolean;
  /**
   * Another actor stepped last and could have stepped again (it was runnable): the
   * scheduler preempted it. A switch away from an actor that was blocked, asleep or done
   * is not a preemption (the measure explore's preemption bound counts).
   */
  preempted: boolean;
}

/** A command a page accepted: one transition of the page chart (machines/page.ts, or an extension's), with the counts after it. */
export interface PageBusEvent {
  kind: 'page';
  op: PageCommand;
  pfn: number;
  actor: ActorIx;
  refcount: number;
  mapcount: number;
  /**
   * For ALLOC, GET and PUT: who takes or drops the reference — an actor id, or a holder
   * such as 'huge_zero_pfn'; '' for a reference a mapping or the page cache owns.
   */
  holder: string;
}

export interface PmdBusEvent {
  kind: 'pmd';
  op: PmdEvent;
  mm: number;
  pmd: number;
  /** pfn the entry points to after the command (-1 for none). */
  pfn: number;
  /** pfn it pointed to before (-1 for none). */
  oldPfn: number;
  actor: ActorIx;
}

export interface PteBusEvent {
  kind: 'pte';
  op: 'set' | 'clear';
  mm: number;
  vpn: number;
  pfn: number;
  oldPfn: number;
  actor: ActorIx;
}

export interface MmBusEvent {
  kind: 'mm';
  op: MmEvent | 'CREATE';
  mm: number;
  actor: ActorIx;
}

export interface LockBusEvent {
  kind: 'lock';
  op: 'acquire' | 'release' | 'trylock_failed';
  lock: string;
  actor: ActorIx;
  /**
   * An acquisition that did not wait: a trylock that succeeded, or __SetPageLocked on a
   * page nobody else can reach yet. Lockdep records no ordering edge into such a lock.
   */
  nowait?: boolean;
  /** A page lock's page (every page has its own lock name: this spares parsing it). */
  pfn?: number;
}

/** Lockless atomic operations on a global the seeds reason about (e.g. huge_zero_refcount). */
export interface AtomicBusEvent {
  kind: 'atomic';
  op: string;
  variable: string;
  old: number;
  value: number;
  actor: ActorIx;
}

/** Ghost bookkeeping: who holds which reference (for "refcount equals the references that exist"). */
export interface RefBusEvent {
  kind: 'ref';
  op: 'take' | 'drop' | 'move';
  /** 'page': a struct page's refcount (pfn = any page of it); or a global counter. */
  counter: 'page' | 'huge_zero_refcount';
  pfn: number;
  from: string;
  to: string;
  actor: ActorIx;
}

export interface AccessBusEvent {
  kind: 'access';
  op: 'read' | 'write';
  /** The mm accessed through, or -1 for file I/O (read(2)/write(2)). */
  mm: number;
  vpn: number;
  /** The file and page offset accessed (-1: anonymous memory). */
  ino: number;
  index: number;
  /** The page read or written; -1 when read(2) found a hole (zeroes). */
  pfn: number;
  /** The data token read or written (0 = zeroes). */
  token: number;
  /**
   * read(2) is not atomic: it finds the page (its `pread` begin event), then copies.
   * Whatever the offset held at some moment since then is a valid answer.
   */
  spans?: boolean;
  actor: ActorIx;
}

/**
 * A read(2) found its page in the page cache (shmem_getpage(SGP_READ)), or returned. A
 * ghost event, for the data-integrity monitor: what the read may return is what the offset
 * held at some moment between the two. No trace line.
 */
export type PreadBusEvent = {
  kind: 'pread';
  ino: number;
  index: number;
  actor: ActorIx;
} & (
  /** value: what the offset is expected to hold now (read by the step: see PunchBeginBusEvent). */
  | { op: 'begin'; value: number }
  | { op: 'end' }
);

/**
 * A step read a pmd and branched on what it saw (handle_mm_fault's `pmd_none(*pmd)`): a
 * ghost event — nothing changes — so the inspector can name the read a racing step's
 * decision rested on. `seen` is the entry's kind then (mm.ts pmdKind); `check` the
 * kernel test as written. No trace line.
 */
export interface PmdReadBusEvent {
  kind: 'pmd_read';
  mm: number;
  pmd: number;
  seen: string;
  check: string;
  actor: ActorIx;
}

/** A page-cache slot changed: a page (pfn ≥ 0), a hole (-1) or a swap entry (≤ -2). */
export interface CacheBusEvent {
  kind: 'cache';
  ino: number;
  index: number;
  old: number;
  value: number;
  actor: ActorIx;
}

/** khugepaged finished one khugepaged_scan_shmem() (and collapse_shmem(), if it ran). */
export interface ScanBusEvent {
  kind: 'scan';
  result: string;
  ino: number;
  start: number;
  actor: ActorIx;
}

/** A truncation or hole punch returned (shmem_setattr / shmem_fallocate). */
export interface TruncateBusEvent {
  kind: 'truncate';
  op: 'truncate' | 'punch';
  ino: number;
  start: number;
  end: number;
  actor: ActorIx;
}

/**
 * A hole punch began (shmem_fallocate(FALLOC_FL_PUNCH_HOLE) entered): what the truncation
 * monitor calls "the pages there before it began" is measured from here. A ghost event —
 * nothing in the kernel's state changes — so no trace line. It carries what the monitor
 * needs to know of the model, read by the step itself (so a step's footprint, which the
 * dfs's sleep sets go by, includes it).
 */
export interface PunchBeginBusEvent {
  kind: 'punch_begin';
  ino: number;
  start: number;
  end: number;
  /** Per index from start to end: 1 if its page-cache slot was not a hole. */
  present: Uint8Array;
  actor: ActorIx;
}

/**
 * A page's contents written other than by an access: copy_highpage() or a collapse's copy,
 * clear_highpage(), a swap-in or a page-cache fill. (`token`: what it holds now; 0 = zeroes.)
 */
export interface DataBusEvent {
  kind: 'data';
  op: 'copy' | 'clear' | 'fill';
  pfn: number;
  token: number;
  actor: ActorIx;
}

/**
 * A count kept on an inode or its mapping changed — shmem's info->alloced and
 * info->swapped, mapping->nrpages, i_size — or what an offset of the file is expected to
 * hold (the data-integrity check's record: old and value are tokens, at `index`).
 */
export interface InodeBusEvent {
  kind: 'inode';
  field: 'alloced' | 'swapped' | 'nrpages' | 'i_size' | 'expected' | 'flags' | 'hugehole' | 'shrinklist' | 'recovering';
  ino: number;
  old: number;
  value: number;
  /** 'expected': the page offset. */
  index?: number;
  /**
   * 'flags': the mapping flag set (value 1) or cleared (0), e.g. AS_COLLAPSE_PMD;
   * 'hugehole': SHMEM_TAG_HUGEHOLE set (1) or cleared (0) at `index`; 'shrinklist': the
   * inode put on (1) or taken off (0) shmem_shrinklist; 'recovering': a recovery of the
   * extent at `index` listed on (1) or taken off (0) shmem_recoverylist.
   */
  flag?: string;
  actor: ActorIx;
}

/**
 * A huge tmpfs team head changed (seed 001): a command of machines/team_head.ts (`op`),
 * or 'usage' for a write of head->team_usage alone (inc_team_pte_mapped); `usage` is
 * team_usage after it. A team member's PageTeam set or cleared is 'member'.
 */
export interface TeamBusEvent {
  kind: 'team';
  op: TeamHeadEvent | 'usage' | 'member_set' | 'member_clear';
  /** The team head's pfn (for member_*, the member's). */
  pfn: number;
  usage: number;
  actor: ActorIx;
}

/**
 * Page migration (mm/migrate.c): a page isolated onto a migrate list,
 * moved into its new page (migrate_page_move_mapping replaced the cache slot), put back
 * (putback_movable_pages), or migrate_pages() done — the mm_migrate_pages tracepoint,
 * with how many succeeded and failed.
 */
export interface MigrateBusEvent {
  kind: 'migrate';
  op: 'isolate' | 'move' | 'putback' | 'done';
  /** The page migrated from (isolate, move, putback); -1 for done. */
  pfn: number;
  /** move: the page migrated into. */
  newpfn: number;
  /** The migrate_reason string (shmem_hugehole: the huge-hole shrinker's list, never migrate_pages()). */
  reason: MigrateReason | 'shmem_hugehole';
  /** done: migrate_pages()'s mode argument. */
  mode?: MigrateMode;
  /** done: pages migrated and not. */
  succeeded: number;
  failed: number;
  actor: ActorIx;
}

/**
 * shmem_recovery_work (seed 001): a pass of shmem_recovery_populate's loop begins
 * (`pass`), or the work ends (`end`) — completed (PageChecked), partial (holes left for
 * the shrinker; resumable), failed (disbanded), or not run at all (too_late / huge_failed).
 * The liveness monitor counts passes.
 */
export interface RecoveryBusEvent {
  kind: 'recovery';
  op: 'pass' | 'end';
  ino: number;
  /** The extent's first page offset (recovery->head_index) and the team head, -1 if none yet. */
  index: number;
  head: number;
  result: '' | 'completed' | 'partial' | 'failed' | 'too_late' | 'huge_failed';
  actor: ActorIx;
}

/** An mm counter changed: add_mm_counter() (MM_ANONPAGES...), mm_inc_nr_ptes() / mm_dec_nr_ptes(). */
export interface MmCounterBusEvent {
  kind: 'mm_counter';
  counter: 'nr_ptes' | 'MM_FILEPAGES' | 'MM_ANONPAGES' | 'MM_SHMEMPAGES';
  mm: number;
  delta: number;
  value: number;
  actor: ActorIx;
}

/**
 * A field of an mm_struct written other than by its chart (mmap_lock), its page-table
 * commands (pmd, pte) or its counters (mm_counter): mm_users, the vma list (munmap, fork,
 * exit_mmap), the expected-data record of its private memory, the vpns a uprobe replaced,
 * a pmd's write bit or the zap walk's note of a pte table, seed 003 design b's pmds to
 * retry, dup_mmap's "still forking".
 */
export interface MmFieldBusEvent {
  kind: 'mm_field';
  field: 'mm_users' | 'vmas' | 'expected' | 'replaced' | 'pmd_writable' | 'pmd_noted' | 'pte_mapped_thp' | 'forking' | 'migration_entry' | 'MMF_VM_HUGEPAGE';
  mm: number;
  actor: ActorIx;
}

/** A write to a /sys/kernel/mm/transparent_hugepage/ file (a task's `sysfs` operation): the kernel's sysfs changed. */
export interface SysfsBusEvent {
  kind: 'sysfs';
  /** The file, relative to /sys/kernel/mm/transparent_hugepage/ (e.g. "khugepaged/max_ptes_none"). */
  file: string;
  value: string;
  /** 0, or the errno the store returned (-EINVAL: the value was refused and nothing changed). */
  error: string;
  actor: ActorIx;
}

/** A khugepaged counter of /sys/kernel/mm/transparent_hugepage/khugepaged/ went up. */
export interface KhugepagedCounterBusEvent {
  kind: 'khugepaged_counter';
  /** (scans_wanted: a task's wait asks khugepaged to run until full_scans reaches this.) */
  counter: 'full_scans' | 'pages_collapsed' | 'scans_wanted';
  value: number;
  actor: ActorIx;
}

/** A swap slot taken by swap_writepage (get_swap_page) or given back (swap_free): `token` is the data it holds. */
export interface SwapBusEvent {
  kind: 'swap';
  op: 'out' | 'free';
  offset: number;
  token: number;
  actor: ActorIx;
}

export interface VmstatBusEvent {
  kind: 'vmstat';
  item: VmItem;
  delta: number;
  actor: ActorIx;
}

/** A kernel-trace-like event, printed as an ftrace line by the tracer. */
export interface TraceBusEvent {
  kind: 'trace';
  event: string;
  fields: string;
  actor: ActorIx;
}

export interface ActorBusEvent {
  kind: 'actor';
  op: 'start' | 'exit' | 'sleep' | 'wake';
  actor: ActorIx;
  detail: string;
}

export interface ViolationBusEvent {
  kind: 'violation';
  violation: Violation;
}

/** End of a scheduler step: monitors run their per-step checks here. */
export interface StepEndBusEvent {
  kind: 'step_end';
  step: number;
  actor: ActorIx;
}

export type BusEvent =
  | StepBusEvent | PageBusEvent | PmdBusEvent | PteBusEvent | MmBusEvent | LockBusEvent
  | CacheBusEvent | TeamBusEvent | MigrateBusEvent | RecoveryBusEvent | TruncateBusEvent | PunchBeginBusEvent | PreadBusEvent | PmdReadBusEvent | ScanBusEvent | DataBusEvent | InodeBusEvent | MmCounterBusEvent | MmFieldBusEvent | SysfsBusEvent | KhugepagedCounterBusEvent | SwapBusEvent
  | AtomicBusEvent | RefBusEvent | AccessBusEvent | VmstatBusEvent | TraceBusEvent
  | ActorBusEvent | ViolationBusEvent | StepEndBusEvent;

export interface Violation {
  /** Invariant or monitor name, e.g. "page-transition", "huge-zero-refcount". */
  invariant: string;
  message: string;
  /** Actor id (e.g. "T1") or "-" when no actor stepped. */
  actor: string;
  /** Scheduler step at which it was seen. */
  step: number;
  /** The state the actor stepped from. */
  state: string;
}
