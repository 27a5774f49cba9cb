/**
 * The shared memory model of one run: struct pages, mm_structs, inodes and their page
 * caches, locks, the huge zero page globals, vmstat and sysfs. Kernel steps (the
 * actions of task charts) call these primitives; each primitive applies one command to
 * the object's statechart and publishes what changed on the bus.
 */
import { Bus } from '../bus/bus.ts';
import type { ActorIx, MmFieldBusEvent, Violation } from '../bus/events.ts';
import type { PmdEvent } from '../../machines/pmd.ts';
import type { MmEvent } from '../../machines/mm_struct.ts';
import { DATA_ZERO, PageStore, hex } from './pages.ts';
import { MM_CHART, MmStruct, PMD_CHART, type Pmd, PTE_NONE, hasPteTable, pmdKind } from './mm.ts';
import { Inode, SLOTS, isSwapEntry, swapEntry, swapOffset } from './address_space.ts';
import { VectorMap } from '../vector/vector_map.ts';
import { RwSem, SpinLock } from './locks.ts';
import { VmStat, type VmItem } from './vmstat.ts';
import { type Sysfs, defaultSysfs, sysfsId, sysfsOf } from './sysfs.ts';
import { type Kconfig, defaultKconfig } from './kconfig.ts';
import { type TeamConsts, teamConsts, teamUsageSet } from './team.ts';
import { mightSleepHook } from './probe.ts';
import { StateVector, type VectorBounds } from '../vector/state_vector.ts';
import { int, makeStruct, struct } from '../vector/struct.ts';
import { SlotList } from '../vector/slot_list.ts';
import { type HeldLocks, type PageLockHolders, makeHeldLocks, makePageLockHolders } from './held_locks.ts';

/**
 * How a page lock is taken: lock_page() waits (sleeps) for it; trylock_page() takes it only
 * if free (a chart's guard may have tested that first); __SetPageLocked() locks a page nobody
 * else can reach yet. Only lock_page() may sleep or orders locks (lockdep adds no edge for a
 * trylock).
 */
export type PageLockHow = 'lock_page' | 'trylock_page' | '__SetPageLocked';

/** A name in Kernel.held that is a spinlock's: an rwsem is held as name:read or name:write. */
const isSpinlockName = (name: string) => !name.endsWith(':read') && !name.endsWith(':write');

/** A page lock as lockdep would name it. */
function lockName(pfn: number): string {
  return `page_lock(${hex(pfn)})`;
}

/** Thrown to stop a step the model refused (an illegal command); the run reports it. */
export class ModelViolation extends Error {
  constructor(readonly violation: Violation) {
    super(`${violation.invariant}: ${violation.message}`);
  }
}

export interface KernelConfig {
  hpagePmdNr: number;
  sysfs?: Sysfs;
  /** The scenario's `config:` (Kconfig options); the rest as the kernel defaults them. */
  config?: Partial<Kconfig>;
  variants?: Iterable<string>;
  pageCapacity?: number;
  /** What sizes the state vector's bounded layouts (default: a small scenario's). */
  bounds?: Partial<VectorBounds>;
  /** Lay the kernel's structs out in the state vector's slots (a world a search copies and hashes), or plainly (default). */
  slots?: boolean;
}

/** The kernel's globals a step writes, laid out in the state vector (src/vector/). */
export interface KernelGlobals {
  /** Seed 004: static atomic_t huge_zero_refcount. */
  huge_zero_refcount: number;
  /** Seed 004: static unsigned long huge_zero_pfn (0 = none; pfn 0 is ZERO_PAGE, never huge). */
  huge_zero_pfn: number;
  /** The next data token a store writes (the model's own counter). */
  next_token: number;
  /** The full_scans count a task's wait is waiting for (see Kernel.khugepagedScansWanted). */
  scans_wanted: number;
  /** get_swap_page()'s next slot offset (the model's swap device hands each out once). */
  swap_next: number;
  /** /sys/kernel/mm/transparent_hugepage's settings, by their fingerprint (sysfsId): replaced whole by a write. */
  sysfs: number;
}
const kernelGlobals = struct<KernelGlobals>('kernel', { huge_zero_refcount: int(), huge_zero_pfn: int(), next_token: int(1), scans_wanted: int(), swap_next: int(), sysfs: int() });

/** Where Kernel keeps the settings its sysfs slot last stood for (not model state: a cache of sysfsOf). */
const SYSFS_SEEN = Symbol('thpsim.kernel.sysfs');

/** /sys/kernel/mm/transparent_hugepage/khugepaged/{full_scans,pages_collapsed}. */
export interface KhugepagedCounters {
  full_scans: number;
  pages_collapsed: number;
}
const khugepagedCounters = struct<KhugepagedCounters>('khugepaged_scan', { full_scans: int(), pages_collapsed: int() });

export class Kernel {
  readonly bus = new Bus();
  readonly vmstat: VmStat;
  readonly pages: PageStore;
  /** The state vector (src/vector/): the structs laid out in it are slots, copied and hashed as such. */
  readonly sv: StateVector;
  /**
   * /sys/kernel/mm/transparent_hugepage: one frozen object, replaced whole by a write
   * (writeSysfs) — a slot of the state vector holds which (its fingerprint, sysfsId).
   */
  get sysfs(): Sysfs {
    // (the settings the slot holds, kept by the setter and every restore; a step whose
    // footprint is recorded reads the slot itself, so that its footprint has it)
    if (this.sv.tracking) void this.g.sysfs;
    return this[SYSFS_SEEN].settings!;
  }

  set sysfs(s: Sysfs) {
    this.g.sysfs = sysfsId(s);
    this.sysfsRestored();
  }

  /** The settings as the slot now says (after a write, or a restore of the vector). */
  private sysfsRestored(): void {
    const id = this.g.sysfs;
    const seen = this[SYSFS_SEEN];
    if (seen.id !== id) {
      seen.id = id;
      seen.settings = sysfsOf(id);
    }
  }

  private readonly [SYSFS_SEEN]: { id: number; settings: Sysfs | undefined } = { id: NaN, settings: undefined };
  /** Kconfig options the model reads (src/memory/kconfig.ts), fixed for the run. */
  readonly config: Readonly<Kconfig>;
  readonly HPAGE_PMD_NR: number;
  readonly HPAGE_PMD_ORDER: number;
  /** pageteam.h's TEAM_* constants for this HPAGE_PMD_ORDER (huge tmpfs teams, seed 001). */
  readonly T: TeamConsts;
  readonly variants: ReadonlySet<string>;
  readonly mms: MmStruct[] = [];
  private readonly mmsByName = new Map<string, MmStruct>();
  readonly inodes: Inode[] = [];
  /** mm_users a forked mm starts with: the scenario tasks that will run in it. */
  readonly mmUsersAtFork = new Map<string, number>();
  /** Actor ids by index, for reports. */
  actorIds: string[] = [];
  /** Locks each actor holds (but page locks: see pageLockHolder), by actor index: name → how many times. */
  held: HeldLocks[] = [];
  /** Page locks: pfn → holder, in the order taken (in the state vector in a world a search copies and hashes). */
  readonly pageLockHolder: PageLockHolders;
  /** Simulated time in nanoseconds. */
  now = 0;
  /** Current scheduler step (for reports). */
  step = 0;
  /** The state the current actor stepped from (for reports). */
  stepState = '';
  stepActor: ActorIx = -1;
  /** The globals a step writes (huge_zero_refcount, huge_zero_pfn, the token counter...): slots of the state vector. */
  readonly g: KernelGlobals;

  /** The small ZERO_PAGE (empty_zero_page): mapped read-only by ptes, never refcounted. */
  readonly ZERO_PAGE: number;
  /** khugepaged_scan.mm_head: the mm_slots registered with khugepaged (__khugepaged_enter), as mm ids, in order. */
  readonly mmHead: SlotList;
  /** The mm ids on khugepaged_scan.mm_head now, in order (a copy). */
  get khugepagedMmSlots(): readonly number[] {
    return Object.freeze(this.mmHead.toArray());
  }
  /**
   * The full_scans count a task's wait is waiting for: khugepaged (which never stops in the
   * kernel) keeps scanning past its own full_scans bound until this is reached.
   */
  get khugepagedScansWanted(): number {
    return this.g.scans_wanted;
  }

  set khugepagedScansWanted(n: number) {
    this.g.scans_wanted = n;
  }

  /** A task waits for khugepaged to reach `n` full scans. */
  khugepagedWantScans(n: number, a: ActorIx): void {
    if (n <= this.khugepagedScansWanted) return;
    this.khugepagedScansWanted = n;
    if (this.bus.wants('khugepaged_counter')) this.bus.publish({ kind: 'khugepaged_counter', counter: 'scans_wanted', value: n, actor: a });
  }
  /** Whether the actor at an index has finished (the scheduler answers; a task's wait reads it). */
  actorDone: (ix: ActorIx) => boolean = () => false;
  /** /sys/kernel/mm/transparent_hugepage/khugepaged/{full_scans,pages_collapsed}: slots of the state vector. */
  readonly khugepaged: KhugepagedCounters;
  /** Huge tmpfs (seed 001): shmem_shrinklist_lock, serialising the huge-hole shrinker and recovery. */
  readonly shmemShrinklistLock: SpinLock;
  /** Seed 004: static atomic_t huge_zero_refcount. */
  get huge_zero_refcount(): number {
    return this.g.huge_zero_refcount;
  }

  set huge_zero_refcount(n: number) {
    this.g.huge_zero_refcount = n;
  }

  /** Seed 004: static unsigned long huge_zero_pfn (0 = none; pfn 0 is ZERO_PAGE, never huge). */
  get huge_zero_pfn(): number {
    return this.g.huge_zero_pfn;
  }

  set huge_zero_pfn(pfn: number) {
    this.g.huge_zero_pfn = pfn;
  }

  constructor(cfg: KernelConfig) {
    this.HPAGE_PMD_NR = cfg.hpagePmdNr;
    this.HPAGE_PMD_ORDER = Math.log2(cfg.hpagePmdNr);
    if (!Number.isInteger(this.HPAGE_PMD_ORDER) || cfg.hpagePmdNr < 2) {
      throw new Error(`HPAGE_PMD_NR must be a power of two ≥ 2, not ${cfg.hpagePmdNr}`);
    }
    this.T = teamConsts(this.HPAGE_PMD_ORDER);
    this.config = Object.freeze({ ...defaultKconfig(), ...cfg.config });
    this.variants = new Set(cfg.variants ?? []);
    this.sv = new StateVector({ hpagePmdNr: cfg.hpagePmdNr, pmds: 64, allPmds: 256, mmPages: 1024, mms: 8, filePages: 1024, fileVmas: 16, filePmds: 256, actors: 16, files: 8, ...cfg.bounds });
    this.sv.plain = !cfg.slots;
    this.g = makeStruct(this.sv, kernelGlobals, 'kernel', {});
    this.khugepaged = makeStruct(this.sv, khugepagedCounters, 'khugepaged', {});
    this.mmHead = new SlotList(this.sv, this.sv.bounds.mms, 'khugepaged_scan.mm_head (the mm_slots: at most one an mm)');
    // the scenario's /sys/kernel/mm/transparent_hugepage settings, replaced by a task's sysfs write
    this.sysfs = cfg.sysfs ?? defaultSysfs(cfg.hpagePmdNr);
    this.sv.onRestore(() => this.sysfsRestored());
    this.shmemShrinklistLock = new SpinLock('shmem_shrinklist_lock', this.sv);
    this.vmstat = new VmStat(this.bus, this.sv);
    this.pageLockHolder = makePageLockHolders(this.sv);
    this.pages = new PageStore(this, cfg.pageCapacity ?? 1024);
    // (in a world a search copies and hashes, the struct page arrays are columns of the vector)
    if (!this.sv.plain) {
      this.pages.layIn(this.sv);
      this.swapSlots.layIn(this.sv, 'swap_map');
    }
    this.ZERO_PAGE = this.pages.alloc(0, true, -1);
    this.pages.setFlag(this.ZERO_PAGE, 'reserved');
  }

  variant(name: string): boolean {
    return this.variants.has(name);
  }

  actorName(a: ActorIx): string {
    return a < 0 ? '-' : (this.actorIds[a] ?? `#${a}`);
  }

  /** Records a violation on the bus and stops the current step. */
  violate(invariant: string, message: string, actor: ActorIx = this.stepActor): never {
    const violation: Violation = {
      invariant, message, actor: this.actorName(actor), step: this.step, state: this.stepState,
    };
    this.bus.publish({ kind: 'violation', violation });
    throw new ModelViolation(violation);
  }

  /**
   * inc_team_pte_mapped / dec_team_pte_mapped (pageteam.h, 64-bit): a team member's first
   * pte mapping adds TEAM_PTE_COUNTER to its head's team_usage, its last takes it off —
   * unless the team is being disbanded ("Stop once team_usage is reset").
   */
  teamPteMapped(pfn: number, delta: 1 | -1, a: ActorIx): void {
    const head = pfn - (this.pages.index[pfn]! & (this.HPAGE_PMD_NR - 1));
    const u = this.pages.teamUsage[head]!;
    if (!this.pages.testFlag(head, 'team') || Math.floor(u / this.T.PAGE_COUNTER) === 0) return;
    teamUsageSet(this, head, u + delta * this.T.PTE_COUNTER, a);
  }

  /**
   * inc_team_pmd_mapped / dec_team_pmd_mapped: a huge pmd of a team adds
   * TEAM_MAPPING_COUNTER (= TEAM_PAGE_COUNTER) to its head's team_usage, above TEAM_COMPLETE.
   */
  teamPmdMapped(head: number, delta: 1 | -1, a: ActorIx): void {
    teamUsageSet(this, head, this.pages.teamUsage[head]! + delta * this.T.PAGE_COUNTER, a);
  }

  illegal(object: string, command: string, state: string, actor: ActorIx): never {
    return this.violate('illegal-transition', `${object}: ${command} is not allowed in state [${state}]`, actor);
  }

  count(item: VmItem, delta: number, actor: ActorIx): void {
    this.bus.publish({ kind: 'vmstat', item, delta, actor });
  }

  /**
   * __folio_remove_rmap()'s deferred split (mm/rmap.c, v6.8–v6.12), after a batch of pte
   * mappings of the compound page at `head` came off (`level` 'pte'; `unmapped`: pages of
   * the batch whose last pte mapping it was) or a pmd mapping did ('pmd'): an anonymous THP with
   * no pmd mapping left, some of its pages still mapped and some not, goes on the deferred
   * split queue — deferred_split_folio(folio, true), counted (thp_deferred_split_page) the
   * first time only. (Unmapping every page in one batch, or the last pmd of a THP no pte
   * maps, is no partial mapping: the THP is freed whole.) folioRemoveRmapPmd/Pte call it; a
   * zap of a pte range, at the end of each batch (zap_present_ptes' folio_remove_rmap_ptes).
   */
  deferredSplitCheck(head: number, level: 'pte' | 'pmd', unmapped: number, a: ActorIx): void {
    const pages = this.pages;
    if (pages.order[head] === 0 || pages.mapping[head]! >= 0 || this.isHugeZeroPfn(head)) return;
    if (pages.pmdMapcount[head]! > 0 || (level === 'pte' && unmapped === 0)) return;
    if (pages.testFlag(head, 'partially_mapped')) return;
    const mapped = pages.ptesMappedPages(head);
    if (mapped === 0 || mapped === 1 << pages.order[head]!) return;
    pages.setFlag(head, 'partially_mapped');
    this.count('thp_deferred_split_page', 1, a);
  }

  /** folio_remove_rmap_pmd(): a pmd mapping of the compound page at `head` gone, then its deferred split (deferredSplitCheck). */
  folioRemoveRmapPmd(head: number, a: ActorIx): void {
    this.pages.unmapPmd(head, a);
    this.deferredSplitCheck(head, 'pmd', 0, a);
  }

  /** folio_remove_rmap_pte(): one pte mapping of `pfn` gone (a batch of one: do_wp_page's copy), then its THP's deferred split. */
  folioRemoveRmapPte(pfn: number, a: ActorIx): void {
    this.pages.unmapPte(pfn, a);
    this.deferredSplitCheck(this.pages.compoundHead(pfn), 'pte', this.pages.pteMapcount(pfn) === 0 ? 1 : 0, a);
  }

  /** Whether anyone reads the trace lines (so a hot step can skip formatting its fields). */
  get tracing(): boolean {
    return this.bus.wants('trace');
  }

  trace(actor: ActorIx, event: string, fields: string): void {
    this.bus.publish({ kind: 'trace', event, fields, actor });
  }

  newToken(): number {
    return this.g.next_token++;
  }

  // ---- locks -------------------------------------------------------------------------

  /** The scenario asks for the liveness checks at quiescence. */
  liveness = false;

  /** Names the actors of a run (by index) and gives each an empty set of held locks. */
  setActors(ids: string[]): void {
    this.actorIds = Object.freeze([...ids]) as string[];
    this.held = ids.map((id) => makeHeldLocks(this.sv, id));
  }

  /** Whether the actor holds any lock (heldBy(a).length > 0, without the names). */
  holdsAnyLock(a: ActorIx): boolean {
    if (this.held[a]!.size > 0) return true;
    for (const h of this.pageLockHolder.values()) if (h === a) return true;
    return false;
  }

  /** The locks an actor holds, for reports. */
  heldBy(a: ActorIx): string[] {
    const pageLocks = [...this.pageLockHolder].filter(([, h]) => h === a).map(([pfn]) => lockName(pfn));
    return [...this.held[a]!.keys(), ...pageLocks];
  }

  /** `nowait`: a trylock that succeeded (see LockBusEvent.nowait). */
  private hold(a: ActorIx, name: string, nowait = false): void {
    const h = this.held[a]!;
    h.set(name, (h.get(name) ?? 0) + 1);
    if (this.bus.wants('lock')) {
      this.bus.publish(nowait ? { kind: 'lock', op: 'acquire', lock: name, actor: a, nowait } : { kind: 'lock', op: 'acquire', lock: name, actor: a });
    }
  }

  /**
   * The spinlocks an actor holds (every lock in `held` but an rwsem, which is held as
   * `name:read` or `name:write`; page locks are not in `held`).
   */
  spinlocksHeldBy(a: ActorIx): string[] {
    const out: string[] = [];
    for (const name of this.held[a]!.keys()) if (isSpinlockName(name)) out.push(name);
    return out;
  }

  /** Whether the actor holds any spinlock (spinlocksHeldBy(a).length > 0, without the array). */
  holdsSpinlock(a: ActorIx): boolean {
    const h = this.held[a]!;
    if (h.size === 0) return false;
    for (const name of h.keys()) if (isSpinlockName(name)) return true;
    return false;
  }

  private release(a: ActorIx, name: string): void {
    const h = this.held[a]!;
    const n = h.get(name);
    if (n === undefined) this.violate('lock-holder', `${this.actorName(a)} releases ${name}, which it does not hold`, a);
    if (n === 1) h.delete(name);
    else h.set(name, n - 1);
    if (this.bus.wants('lock')) this.bus.publish({ kind: 'lock', op: 'release', lock: name, actor: a });
  }

  spinLock(l: SpinLock, a: ActorIx): void {
    if (!l.free) this.violate('lock-holder', `spin_lock(${l.name}) while ${this.actorName(l.holder)} holds it`, a);
    l.holder = a;
    this.hold(a, l.name);
  }

  spinUnlock(l: SpinLock, a: ActorIx): void {
    if (l.holder !== a) this.violate('lock-holder', `spin_unlock(${l.name}) by ${this.actorName(a)}; holder is ${this.actorName(l.holder)}`, a);
    l.holder = -1;
    this.release(a, l.name);
  }

  downRead(s: RwSem, a: ActorIx): void {
    if (!s.readFree) this.violate('lock-holder', `down_read(${s.name}) while write-held`, a);
    if (mightSleepHook !== null) mightSleepHook(`down_read(${s.name})`, a);
    s.addReader(a);
    this.hold(a, s.readName);
  }

  upRead(s: RwSem, a: ActorIx): void {
    if (!s.removeReader(a)) this.violate('lock-holder', `up_read(${s.name}) by ${this.actorName(a)}, not a reader`, a);
    this.release(a, s.readName);
  }

  /** down_write(); `nowait`: down_write_trylock() that succeeded (no sleep, no ordering edge). */
  downWrite(s: RwSem, a: ActorIx, nowait = false): void {
    if (!s.writeFree) this.violate('lock-holder', `down_write(${s.name}) while held`, a);
    if (!nowait && mightSleepHook !== null) mightSleepHook(`down_write(${s.name})`, a);
    s.writer = a;
    this.hold(a, s.writeName, nowait);
  }

  /** down_write_trylock(): false (and a trylock_failed event) if anyone holds it. */
  downWriteTrylock(s: RwSem, a: ActorIx): boolean {
    if (!s.writeFree) {
      this.bus.publish({ kind: 'lock', op: 'trylock_failed', lock: s.name, actor: a });
      return false;
    }
    this.downWrite(s, a, true);
    return true;
  }

  upWrite(s: RwSem, a: ActorIx): void {
    if (s.writer !== a) this.violate('lock-holder', `up_write(${s.name}) by ${this.actorName(a)}; writer is ${this.actorName(s.writer)}`, a);
    s.writer = -1;
    this.release(a, s.writeName);
  }

  // mmap_lock: the rwsem plus the mm_struct chart's mmap_lock region.
  private mmCmd(mm: MmStruct, ev: MmEvent, a: ActorIx): void {
    const n = MM_CHART.next[MM_CHART.eventIndex[ev] * MM_CHART.nStates + mm.state]!;
    if (n < 0) this.illegal(`mm ${mm.name}`, ev, Object.values(MM_CHART.value(mm.state)).join(' '), a);
    mm.state = n;
    this.bus.publish({ kind: 'mm', op: ev, mm: mm.id, actor: a });
  }

  mmapReadLock(mm: MmStruct, a: ActorIx): void { this.mmCmd(mm, 'DOWN_READ', a); this.downRead(mm.mmapLock, a); }
  mmapReadUnlock(mm: MmStruct, a: ActorIx): void {
    this.mmCmd(mm, mm.mmapLock.nrReaders === 1 ? 'UP_READ_LAST' : 'UP_READ', a);
    this.upRead(mm.mmapLock, a);
  }
  /** mmap_write_lock(); `nowait`: a down_write_trylock() a chart's guard found free. */
  mmapWriteLock(mm: MmStruct, a: ActorIx, nowait = false): void { this.mmCmd(mm, 'DOWN_WRITE', a); this.downWrite(mm.mmapLock, a, nowait); }
  mmapWriteTrylock(mm: MmStruct, a: ActorIx): boolean {
    if (!mm.mmapLock.writeFree) return this.downWriteTrylock(mm.mmapLock, a);
    this.mmapWriteLock(mm, a, true);
    return true;
  }
  mmapWriteUnlock(mm: MmStruct, a: ActorIx): void { this.mmCmd(mm, 'UP_WRITE', a); this.upWrite(mm.mmapLock, a); }

  /** mmput(): the last user starts exit_mmap(). Returns true for the last user. */
  mmput(mm: MmStruct, a: ActorIx): boolean {
    mm.users--;
    this.mmField(mm, 'mm_users', a);
    if (mm.users > 0) return false;
    this.mmCmd(mm, 'MMPUT_LAST', a);
    return true;
  }
  exitMmapDone(mm: MmStruct, a: ActorIx): void { this.mmCmd(mm, 'EXIT_MMAP_DONE', a); }

  /**
   * lock_page() once the page is unlocked (the acquiring state's guard waits for that), or
   * as `how` says (a trylock_page() found free, __SetPageLocked on a new page).
   */
  lockPage(pfn: number, a: ActorIx, how: PageLockHow = 'lock_page'): void {
    if (how === 'lock_page' && mightSleepHook !== null) mightSleepHook(`lock_page(${hex(pfn)})`, a);
    this.pages.setLocked(pfn, a);
    // page locks are tracked by pageLockHolder alone (hundreds can be held at once by collapse_shmem)
    this.pageLockHolder.set(pfn, a);
    if (this.bus.wants('lock')) {
      this.bus.publish(how === 'lock_page'
        ? { kind: 'lock', op: 'acquire', lock: lockName(pfn), actor: a, pfn }
        : { kind: 'lock', op: 'acquire', lock: lockName(pfn), actor: a, nowait: true, pfn });
    }
  }

  /** A trylock_page() that a chart's guard found failing (the guard decides, this reports it). */
  trylockPageFailed(pfn: number, a: ActorIx): void {
    this.bus.publish({ kind: 'lock', op: 'trylock_failed', lock: lockName(pfn), actor: a });
  }

  trylockPage(pfn: number, a: ActorIx): boolean {
    if (this.pages.isLocked(pfn)) {
      this.bus.publish({ kind: 'lock', op: 'trylock_failed', lock: lockName(pfn), actor: a });
      return false;
    }
    this.lockPage(pfn, a, 'trylock_page');
    return true;
  }

  unlockPage(pfn: number, a: ActorIx): void {
    const holder = this.pageLockHolder.get(pfn);
    if (holder !== undefined && holder !== a) {
      this.violate('lock-holder', `unlock_page(${hex(pfn)}) by ${this.actorName(a)}; locked by ${this.actorName(holder)}`, a);
    }
    this.pages.clearLocked(pfn, a);
    this.pageLockHolder.delete(pfn);
    if (this.bus.wants('lock')) this.bus.publish({ kind: 'lock', op: 'release', lock: lockName(pfn), actor: a, pfn });
  }

  // ---- mm_structs and page tables ------------------------------------------------------

  /** An mm_struct named `name`; `vmas`: the VMAs it can have (its layout's bound in a world a search copies and hashes). */
  createMm(name: string, a: ActorIx, vmas?: number): MmStruct {
    const mm = new MmStruct(this.mms.length, name, this.sv, vmas);
    this.mms.push(mm);
    this.mmsByName.set(name, mm);
    this.bus.publish({ kind: 'mm', op: 'CREATE', mm: mm.id, actor: a });
    return mm;
  }

  mmByName(name: string): MmStruct | undefined {
    return this.mmsByName.get(name);
  }

  createInode(name: string, shmem: boolean, sizePages: number): Inode {
    const ino = new Inode(this.inodes.length, name, shmem, sizePages, this.sv);
    this.inodes.push(ino);
    return ino;
  }

  /** One pmd-chart command: the entry's new state, pointing at `pfn` (-1 for none). */
  pmdCmd(mm: MmStruct, index: number, ev: PmdEvent, pfn: number, a: ActorIx): Pmd {
    const p = mm.pmd(index);
    const n = PMD_CHART.next[PMD_CHART.eventIndex[ev] * PMD_CHART.nStates + p.state]!;
    if (n < 0) {
      this.illegal(`pmd ${mm.name}:${hex(index * this.HPAGE_PMD_NR * 4096)}`, ev, pmdKind(p.state), a);
    }
    if (ev === 'PMDP_CLEAR' && hasPteTable(p)) {
      let present = 0;
      for (const v of p.ptes) if (v !== PTE_NONE) present++;
      if (present) {
        this.violate('page-table', `pmd ${mm.name}:${hex(index * this.HPAGE_PMD_NR * 4096)}: a pte table is freed with ${present} present pte(s): their mappings are lost`, a);
      }
    }
    const oldPfn = p.pfn;
    p.state = n;
    const kind = pmdKind(n);
    p.pfn = kind === 'huge' || kind === 'huge_zero' ? pfn : -1;
    if (kind === 'pte_table' && !hasPteTable(p)) {
      p.ptes.assign(new Array<number>(this.HPAGE_PMD_NR).fill(PTE_NONE));
      p.pteWritable.assign(new Array<number>(this.HPAGE_PMD_NR).fill(0));
      p.pteMigration.assign(new Array<number>(this.HPAGE_PMD_NR).fill(0));
      p.noted = 0;
    } else if (kind !== 'pte_table') {
      p.ptes.assign([]);
      p.pteWritable.assign([]);
      p.pteMigration.assign([]);
      p.noted = 0;
    }
    this.bus.publish({ kind: 'pmd', op: ev, mm: mm.id, pmd: index, pfn: p.pfn, oldPfn, actor: a });
    return p;
  }

  /** set_pte_at / pte_clear on one pte of a pte table. */
  setPte(mm: MmStruct, vpn: number, pfn: number, writable: boolean, a: ActorIx): void {
    const p = mm.pmds.get(Math.floor(vpn / this.HPAGE_PMD_NR));
    if (!p || !hasPteTable(p)) this.violate('page-table', `set_pte_at ${mm.name}:${hex(vpn * 4096)} without a pte table`, a);
    const i = vpn % this.HPAGE_PMD_NR;
    const oldPfn = p.ptes.at(i)!;
    p.ptes.set(i, pfn);
    p.pteWritable.set(i, writable && pfn !== PTE_NONE ? 1 : 0);
    this.bus.publish({ kind: 'pte', op: pfn === PTE_NONE ? 'clear' : 'set', mm: mm.id, vpn, pfn, oldPfn, actor: a });
  }

  /** A migration entry left in (on) or taken out of (off) the pte at vpn (see Pmd.pteMigration). */
  migrationEntry(mm: MmStruct, vpn: number, on: boolean, a: ActorIx): void {
    const p = mm.pmds.get(Math.floor(vpn / this.HPAGE_PMD_NR));
    if (!p || !hasPteTable(p)) return;
    p.pteMigration.set(vpn % this.HPAGE_PMD_NR, on ? 1 : 0);
    this.mmField(mm, 'migration_entry', a);
  }

  /** Whether the pte at vpn holds a migration entry. */
  isMigrationEntry(mm: MmStruct, vpn: number): boolean {
    const p = mm.pmds.get(Math.floor(vpn / this.HPAGE_PMD_NR));
    return p !== undefined && p.pteMigration.at(vpn % this.HPAGE_PMD_NR) === 1;
  }

  pte(mm: MmStruct, vpn: number): number {
    const p = mm.pmds.get(Math.floor(vpn / this.HPAGE_PMD_NR));
    return p !== undefined && hasPteTable(p) ? p.ptes.at(vpn % this.HPAGE_PMD_NR)! : PTE_NONE;
  }

  /** is_huge_zero_pfn(): compares with the current huge_zero_pfn, as the kernel does. */
  isHugeZeroPfn(pfn: number): boolean {
    const zero = this.huge_zero_pfn;
    return zero !== 0 && pfn === zero;
  }

  // ---- the huge zero page's atomics (seed 004) ---------------------------------------

  atomic(variable: 'huge_zero_refcount' | 'huge_zero_pfn', op: string, value: number, a: ActorIx): number {
    const old = this[variable];
    this[variable] = value;
    this.bus.publish({ kind: 'atomic', op, variable, old, value, actor: a });
    return old;
  }

  // ---- the page cache and swap -------------------------------------------------------

  /**
   * Swap slots: offset → the data token written out (swap_writepage); in a world a search
   * copies and hashes, mirrored in a column of the vector (offsets are handed out once, by
   * the swap_next global: the Map's order is theirs).
   */
  readonly swapSlots = new VectorMap();

  /**
   * One page-cache slot changes (radix_tree_insert / replace_slot / delete). A slot
   * holding a page (or a subpage of a huge page) holds one reference on its head.
   * mapping->nrpages is the callers' to update, where the kernel code does.
   */
  cacheSet(ino: Inode, index: number, value: number, a: ActorIx): void {
    const m = ino.mapping;
    const old = m.lookup(index);
    m.arrays.put(SLOTS, index, value);
    this.bus.publish({ kind: 'cache', ino: ino.id, index, old, value, actor: a });
  }

  /** get_swap_page + swap_writepage: the data goes out to a new swap slot. */
  swapOut(token: number, a: ActorIx): number {
    const off = this.g.swap_next++;
    this.swapSlots.set(off, token);
    if (this.bus.wants('swap')) this.bus.publish({ kind: 'swap', op: 'out', offset: off, token, actor: a });
    return swapEntry(off);
  }

  /** swap_readpage: the data a swap entry holds. */
  swapData(entry: number): number {
    if (!isSwapEntry(entry)) throw new Error(`not a swap entry: ${entry}`);
    return this.swapSlots.get(swapOffset(entry)) ?? DATA_ZERO;
  }

  /** swap_free. */
  swapFree(entry: number, a: ActorIx): void {
    const offset = swapOffset(entry);
    const token = this.swapSlots.get(offset) ?? DATA_ZERO;
    this.swapSlots.delete(offset);
    if (this.bus.wants('swap')) this.bus.publish({ kind: 'swap', op: 'free', offset, token, actor: a });
  }

  inodeByName(name: string): Inode | undefined {
    return this.inodes.find((i) => i.name === name);
  }

  /** Ghost bookkeeping of who holds a reference (checked against the real counter). */
  ref(op: 'take' | 'drop' | 'move', counter: 'page' | 'huge_zero_refcount', pfn: number, from: string, to: string, a: ActorIx): void {
    this.bus.publish({ kind: 'ref', op, counter, pfn, from, to, actor: a });
  }

  // ---- memory accesses: what the CPU reads and writes through the page tables ---------

  /** The pfn a vpn translates to (and whether writable), or null if it would fault. */
  translate(mm: MmStruct, vpn: number): { pfn: number; writable: boolean } | null {
    const p = mm.pmds.get(Math.floor(vpn / this.HPAGE_PMD_NR));
    if (!p) return null;
    const kind = pmdKind(p.state);
    if (kind === 'huge' || kind === 'huge_zero') return { pfn: p.pfn + (vpn % this.HPAGE_PMD_NR), writable: p.writable };
    if (kind === 'pte_table') {
      const i = vpn % this.HPAGE_PMD_NR;
      const pfn = p.ptes.at(i)!;
      return pfn === PTE_NONE ? null : { pfn, writable: p.pteWritable.at(i) === 1 };
    }
    return null;
  }

  /** mm_counter_file(page): shmem pages (PG_swapbacked) count as MM_SHMEMPAGES, other file pages as MM_FILEPAGES. */
  mmCounterFile(pfn: number): 'MM_SHMEMPAGES' | 'MM_FILEPAGES' {
    return this.pages.testFlag(this.pages.compoundHead(pfn), 'swapbacked') ? 'MM_SHMEMPAGES' : 'MM_FILEPAGES';
  }

  /** The file page a vpn maps, if its VMA maps a file. */
  fileOffset(mm: MmStruct, vpn: number): { ino: Inode; index: number } | null {
    const vma = mm.findVma(vpn);
    if (!vma || vma.file < 0 || mm.replaced.has(vpn)) return null;
    return { ino: this.inodes[vma.file]!, index: vma.pgoff + (vpn - vma.start) };
  }

  /** A page's contents written other than by an access (copy_highpage, clear_highpage, a swap-in...). */
  setPageData(pfn: number, token: number, op: 'copy' | 'clear' | 'fill', a: ActorIx): void {
    this.pages.setData(pfn, token);
    if (this.bus.wants('data')) this.bus.publish({ kind: 'data', op, pfn, token, actor: a });
  }

  /** One of the counts kept on an inode or its mapping: info->alloced, info->swapped, mapping->nrpages, i_size. */
  inodeAdd(ino: Inode, field: 'alloced' | 'swapped' | 'nrpages' | 'i_size', delta: number, a: ActorIx): void {
    const old = field === 'nrpages' ? ino.mapping.nrpages : ino[field];
    if (field === 'nrpages') ino.mapping.nrpages = old + delta;
    else ino[field] = old + delta;
    if (this.bus.wants('inode')) this.bus.publish({ kind: 'inode', field, ino: ino.id, old, value: old + delta, actor: a });
  }

  /** What offset `index` of a file is expected to hold from now on (0: zeroes): the data-integrity check's record. */
  setExpected(ino: Inode, index: number, token: number, a: ActorIx): void {
    const old = ino.expected.get(index) ?? 0;
    ino.setExpected(index, token);
    if (this.bus.wants('inode')) this.bus.publish({ kind: 'inode', field: 'expected', ino: ino.id, old, value: token, index, actor: a });
  }

  /** set_bit() / test_and_clear_bit() on mapping->flags: whether the flag was set before. */
  mappingFlag(ino: Inode, flag: string, set: boolean, a: ActorIx): boolean {
    const was = ino.mapping.flags.has(flag);
    ino.mapping.setFlag(flag, set);
    if (was !== set && this.bus.wants('inode')) {
      this.bus.publish({ kind: 'inode', field: 'flags', ino: ino.id, old: was ? 1 : 0, value: set ? 1 : 0, flag, actor: a });
    }
    return was;
  }

  /** add_mm_counter(mm, member, delta); for nr_ptes, mm_inc_nr_ptes() / mm_dec_nr_ptes(). */
  addMmCounter(mm: MmStruct, counter: 'nr_ptes' | 'MM_FILEPAGES' | 'MM_ANONPAGES' | 'MM_SHMEMPAGES', delta: number, a: ActorIx): void {
    const value = counter === 'nr_ptes' ? (mm.nr_ptes += delta) : (mm.rss[counter] += delta);
    if (this.bus.wants('mm_counter')) this.bus.publish({ kind: 'mm_counter', counter, mm: mm.id, delta, value, actor: a });
  }

  /**
   * __khugepaged_enter(mm): set MMF_VM_HUGEPAGE and add an mm_slot at the tail of
   * khugepaged's list (once per mm; khugepaged scans only the mms on it).
   */
  khugepagedEnter(mm: MmStruct, a: ActorIx): void {
    if (mm.mmfVmHugepage) return;
    mm.mmfVmHugepage = true;
    this.mmHead.push(mm.id);
    this.mmField(mm, 'MMF_VM_HUGEPAGE', a);
    this.trace(a, 'khugepaged_enter', `mm=${mm.name} slots=${this.mmHead.length}`);
  }

  /** A write to sysfs: the new settings (frozen), or the store's -EINVAL leaving them as they were. */
  writeSysfs(file: string, value: string, next: Sysfs | null, a: ActorIx): void {
    if (next) this.sysfs = next;
    this.bus.publish({ kind: 'sysfs', file, value, error: next ? '0' : '-EINVAL', actor: a });
  }

  /** khugepaged's full_scans or pages_collapsed counter, one up. */
  khugepagedCount(counter: 'full_scans' | 'pages_collapsed', a: ActorIx): void {
    const value = ++this.khugepaged[counter];
    if (this.bus.wants('khugepaged_counter')) this.bus.publish({ kind: 'khugepaged_counter', counter, value, actor: a });
  }

  /** An mm_struct's field written (mm_field event): after the write, by the code that made it. */
  mmField(mm: MmStruct, field: MmFieldBusEvent['field'], a: ActorIx): void {
    if (this.bus.wants('mm_field')) this.bus.publish({ kind: 'mm_field', field, mm: mm.id, actor: a });
  }

  /** A load through a mapping: checked against what was last stored (or zeroes). */
  read(mm: MmStruct, vpn: number, pfn: number, a: ActorIx): number {
    const token = this.pages.data[pfn]!;
    const f = this.fileOffset(mm, vpn);
    this.bus.publish({
      kind: 'access', op: 'read', mm: mm.id, vpn, ino: f ? f.ino.id : -1, index: f ? f.index : -1, pfn, token, actor: a,
    });
    return token;
  }

  /** A store of a fresh token through a mapping. */
  write(mm: MmStruct, vpn: number, pfn: number, a: ActorIx): number {
    const token = this.newToken();
    this.pages.setData(pfn, token);
    const f = this.fileOffset(mm, vpn);
    if (f) f.ino.setExpected(f.index, token);
    else mm.expected.set(vpn, token);
    this.bus.publish({
      kind: 'access', op: 'write', mm: mm.id, vpn, ino: f ? f.ino.id : -1, index: f ? f.index : -1, pfn, token, actor: a,
    });
    return token;
  }

  /** read(2) of one page offset: pfn -1 when it found a hole; spans: it copies after it found the page (see AccessBusEvent). */
  fileRead(ino: Inode, index: number, pfn: number, a: ActorIx, spans?: boolean): number {
    const token = pfn < 0 ? DATA_ZERO : this.pages.data[pfn]!;
    this.bus.publish({ kind: 'access', op: 'read', mm: -1, vpn: -1, ino: ino.id, index, pfn, token, spans, actor: a });
    return token;
  }

  /** write(2) of one page offset into a (locked, cached) page. */
  fileWrite(ino: Inode, index: number, pfn: number, a: ActorIx): number {
    const token = this.newToken();
    this.pages.setData(pfn, token);
    ino.setExpected(index, token);
    this.bus.publish({ kind: 'access', op: 'write', mm: -1, vpn: -1, ino: ino.id, index, pfn, token, actor: a });
    return token;
  }

  /** The data a read must return (an access event's file offset, or the mm's anonymous vpn). */
  expectedAt(mm: MmStruct | null, vpn: number, ino = -1, index = -1): number {
    if (ino >= 0) return this.inodes[ino]!.expected.get(index) ?? DATA_ZERO;
    return mm!.expected.get(vpn) ?? DATA_ZERO;
  }
}
