/**
 * The plain-function baseline for the engine benchmark: the same kernel steps as
 * machines/task.ts and machines/huge_zero_page.ts (with the two seed-004 fixes),
 * hand-written as a switch over program points, over plain objects and typed arrays —
 * no XState, no compiled charts, no bus, no monitors, no ghost reference bookkeeping, no
 * trace hash, no lock-name bookkeeping.
 *
 * It keeps the engine's scheduling algorithm (each step: scan every actor for
 * runnability in index order, pick one with the same Rng), so with the same scenario and
 * seed it takes the same decisions; bench/run.ts checks that, decision by decision,
 * against the engine's recorded schedule before timing anything. What it does per step
 * is what the model's kernel does: refcount and mapcount inc/dec, pmd and pte set/clear,
 * page alloc/free (buddy free lists, per-page field initialisation), the huge zero page
 * atomics, mmap_lock and page_table_lock state, page data tokens.
 *
 * Scope: the paths the bench workload can take without failure injection (the bench
 * runs with inject: {}). A program point it does not implement throws.
 */
import type { Scenario } from '../src/scenario/schema.ts';
import { Rng } from '../src/sched/rng.ts';

// ---- pages -----------------------------------------------------------------------------

const F_HEAD = 1;
const F_TAIL = 2;
const F_LRU = 4;
const F_ALLOC = 8;

class Pages {
  refcount: Int32Array;
  mapcount: Int32Array;
  pmdMapcount: Int32Array;
  order: Uint8Array;
  head: Int32Array;
  flags: Uint16Array;
  data: Int32Array;
  nr = 0;
  readonly free: number[][] = [];

  constructor(cap: number) {
    this.refcount = new Int32Array(cap);
    this.mapcount = new Int32Array(cap);
    this.pmdMapcount = new Int32Array(cap);
    this.order = new Uint8Array(cap);
    this.head = new Int32Array(cap);
    this.flags = new Uint16Array(cap);
    this.data = new Int32Array(cap);
    for (let o = 0; o < 16; o++) this.free.push([]);
  }

  private grow(min: number): void {
    let cap = this.refcount.length;
    while (cap < min) cap *= 2;
    const g = <T extends Int32Array | Uint8Array | Uint16Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.refcount = g(this.refcount);
    this.mapcount = g(this.mapcount);
    this.pmdMapcount = g(this.pmdMapcount);
    this.order = g(this.order);
    this.head = g(this.head);
    this.flags = g(this.flags);
    this.data = g(this.data);
  }

  alloc(order: number, zeroed: boolean): number {
    const n = 1 << order;
    const list = this.free[order]!;
    let pfn: number;
    if (list.length) pfn = list.pop()!;
    else {
      pfn = Math.ceil(this.nr / n) * n;
      if (pfn + n > this.refcount.length) this.grow(pfn + n);
      for (let p = this.nr; p < pfn; p++) this.free[0]!.push(p);
      this.nr = pfn + n;
    }
    for (let p = pfn; p < pfn + n; p++) {
      if (this.flags[p]! & F_ALLOC) throw new Error(`baseline: page ${p} allocated twice`);
      this.head[p] = pfn;
      this.order[p] = 0;
      this.flags[p] = F_ALLOC | (p === pfn ? (order ? F_HEAD : 0) : F_TAIL);
      this.refcount[p] = 0;
      this.mapcount[p] = 0;
      this.pmdMapcount[p] = 0;
      if (zeroed) this.data[p] = 0;
      else if (this.data[p] === 0) this.data[p] = -1;
    }
    this.order[pfn] = order;
    this.refcount[pfn] = 1;
    return pfn;
  }

  get(pfn: number): void {
    this.refcount[this.head[pfn]!]!++;
  }

  put(pfn: number): void {
    const h = this.head[pfn]!;
    if (--this.refcount[h]! === 0) {
      const n = 1 << this.order[h]!;
      if (this.mapcount[h]) throw new Error(`baseline: freeing mapped page ${h}`);
      for (let p = h; p < h + n; p++) this.flags[p] = 0;
      this.free[this.order[h]!]!.push(h);
    }
  }

  freePages(pfn: number, order: number): void {
    if (order !== this.order[pfn]) throw new Error(`baseline: __free_pages(${pfn}, ${order}) on an order-${this.order[pfn]} page`);
    this.put(pfn);
  }

  mapPte(pfn: number): void { this.mapcount[pfn]!++; }
  unmapPte(pfn: number): void { this.mapcount[pfn]!--; }
  mapPmd(h: number): void { this.pmdMapcount[h]!++; this.mapcount[h]!++; }
  unmapPmd(h: number): void { this.pmdMapcount[h]!--; this.mapcount[h]!--; }
  lruAdd(pfn: number): void { this.flags[pfn] = this.flags[pfn]! | F_LRU; }
  pageMapcount(pfn: number): number {
    const h = this.head[pfn]!;
    return h === pfn ? this.mapcount[pfn]! : this.mapcount[pfn]! + this.pmdMapcount[h]!;
  }
}

// ---- mm_structs and page tables -----------------------------------------------------------

const PMD_NONE = 0;
const PMD_TABLE = 1;
const PMD_HUGE = 2;
const PMD_HUGE_ZERO = 3;
const PTE_NONE = -1;

interface Pmd {
  kind: number;
  pfn: number;
  writable: boolean;
  ptes: Int32Array | null;
  pteWritable: Uint8Array | null;
  deposited: number;
}

interface Vma { start: number; end: number }

const MM_LIVE = 0;
const MM_EXITING = 1;
const MM_EXITED = 2;

interface Mm {
  name: string;
  life: number;
  readers: number;
  writer: number;
  ptl: number;
  users: number;
  forking: boolean;
  vmas: Vma[];
  pmds: Map<number, Pmd>;
  nr_ptes: number;
  anon: number;
  expected: Map<number, number>;
}

function newMm(name: string): Mm {
  return {
    name, life: MM_LIVE, readers: 0, writer: -1, ptl: -1, users: 0, forking: false, vmas: [], pmds: new Map(),
    nr_ptes: 0, anon: 0, expected: new Map(),
  };
}

// ---- program points ----------------------------------------------------------------------------

/** Labels of the STEP states (where an actor rests between steps). */
const L = {
  ACCESS: 0,
  HPA_PTE_ALLOC_ONE: 1, HPA_SPIN_LOCK: 2, HPA_SET_HUGE_ZERO: 3, HPA_LOST_ZERO_UNLOCK: 4, HPA_LOST_ZERO_PTE_FREE: 5,
  HPA_SPIN_UNLOCK: 6, HPA_ALLOC_HUGEPAGE: 7, HPA_CLEAR: 8, HPA_PTE_ALLOC_ONE_W: 9, HPA_SPIN_LOCK_W: 10, HPA_SET_PMD: 11,
  HPA_LOST_UNLOCK: 12, HPA_LOST_RELEASE: 13,
  GHZ_INC: 14, GHZ_READPFN: 15, GHZ_ALLOC: 16, GHZ_PUBLISH: 17, GHZ_FREEOURS: 18, GHZ_SETCOUNT: 19,
  PUT_DEC: 20,
  WP_SPIN_LOCK: 21, WP_CHECK: 22, WP_ALLOC: 23, WP_COPY: 24, WP_SPIN_LOCK2: 25, WP_REPLACE: 26, WP_SPIN_UNLOCK: 27, WP_LOST_RELEASE: 28,
  HPF_PTE_ALLOC_ONE: 29, HPF_PTE_ALLOC_LOCK: 30, HPF_PTE_ALLOC_POPULATE: 31, HPF_PTE_ALLOC_UNLOCK: 32,
  HPF_ANON_READ_LOCK: 33, HPF_ANON_READ_SET: 34, HPF_ANON_ALLOC: 35, HPF_ANON_WRITE_LOCK: 36, HPF_ANON_WRITE_SET: 37, HPF_ANON_UNLOCK: 38,
  HPF_WP_LOCK: 39, HPF_WP_CHECK: 40, HPF_WP_ALLOC: 41, HPF_WP_LOCK2: 42, HPF_WP_REPLACE: 43, HPF_WP_UNLOCK: 44, HPF_WP_LOST: 45,
  PF_UP_READ: 46,
  FORK_DOWN_WRITE: 47, FORK_HUGE_PTE_ALLOC: 48, FORK_HUGE_LOCK_DST: 49, FORK_HUGE_LOCK_SRC: 50, FORK_SET_ZERO: 51, FORK_HUGE_COPY: 52,
  FORK_PTE_ALLOC: 53, FORK_PTE_LOCK_DST: 54, FORK_PTE_LOCK_SRC: 55, FORK_COPY_PTES: 56, FORK_UNLOCK_SRC: 57, FORK_UNLOCK_DST: 58, FORK_UP_WRITE: 59,
  MUNMAP_DOWN_WRITE: 60, ZAP_HUGE_LOCK: 61, ZAP_HUGE_CLEAR: 62, ZAP_HUGE_UNLOCK: 63, ZAP_HUGE_PUT_PAGE: 64, ZAP_PTE_LOCK: 65, ZAP_PTES: 66,
  ZAP_PTE_UNLOCK: 67, ZAP_PTE_FREE_PAGES: 68, ZAP_FREE_PGTABLE: 69, MUNMAP_REMOVE_VMAS: 70, MUNMAP_UP_WRITE: 71,
  SPLIT_DOWN_READ: 72, SPLIT_SPIN_LOCK: 73, SPLIT_ZERO: 74, SPLIT_ANON: 75, SPLIT_SPIN_UNLOCK: 76, SPLIT_UP_READ: 77,
  EXIT_MMPUT: 78, EXIT_MMAP_DONE: 79,
  SH_COUNT: 80, SH_SCAN: 81, SH_XCHG: 82, SH_FREE: 83,
  DONE: 84,
  EXIT_KHUGEPAGED_EXIT: 85, EXIT_KHUGEPAGED_EXIT_UP: 86,
} as const;

const PF = 'page_fault.';
const HPA = `${PF}do_huge_pmd_anonymous_page.`;
const WP = `${PF}do_huge_pmd_wp_page.`;
const HPF = `${PF}handle_pte_fault.`;
const FC = 'fork.copy.';
/** State paths as the engine names them; {ghz}, {put}, {zap} stand for the call site. */
const NAMES: string[] = [];
for (const [k, v] of Object.entries({
  ACCESS: 'access',
  HPA_PTE_ALLOC_ONE: `${HPA}pte_alloc_one`, HPA_SPIN_LOCK: `${HPA}spin_lock`, HPA_SET_HUGE_ZERO: `${HPA}set_huge_zero_page`,
  HPA_LOST_ZERO_UNLOCK: `${HPA}lost_zero_unlock`, HPA_LOST_ZERO_PTE_FREE: `${HPA}lost_zero_pte_free`, HPA_SPIN_UNLOCK: `${HPA}spin_unlock`,
  HPA_ALLOC_HUGEPAGE: `${HPA}alloc_hugepage`, HPA_CLEAR: `${HPA}clear_huge_page`, HPA_PTE_ALLOC_ONE_W: `${HPA}pte_alloc_one_w`,
  HPA_SPIN_LOCK_W: `${HPA}spin_lock_w`, HPA_SET_PMD: `${HPA}set_pmd`, HPA_LOST_UNLOCK: `${HPA}lost_unlock`, HPA_LOST_RELEASE: `${HPA}lost_release`,
  GHZ_INC: '{ghz}.incNotZero', GHZ_READPFN: '{ghz}.readPfn', GHZ_ALLOC: '{ghz}.alloc', GHZ_PUBLISH: '{ghz}.publish',
  GHZ_FREEOURS: '{ghz}.freeOurs', GHZ_SETCOUNT: '{ghz}.setCount',
  PUT_DEC: '{put}.dec',
  WP_SPIN_LOCK: `${WP}spin_lock`, WP_CHECK: `${WP}check`, WP_ALLOC: `${WP}alloc`, WP_COPY: `${WP}copy`, WP_SPIN_LOCK2: `${WP}spin_lock2`,
  WP_REPLACE: `${WP}replace`, WP_SPIN_UNLOCK: `${WP}spin_unlock`, WP_LOST_RELEASE: `${WP}lost_release`,
  HPF_PTE_ALLOC_ONE: `${HPF}pte_alloc_one`, HPF_PTE_ALLOC_LOCK: `${HPF}pte_alloc_lock`, HPF_PTE_ALLOC_POPULATE: `${HPF}pte_alloc_populate`,
  HPF_PTE_ALLOC_UNLOCK: `${HPF}pte_alloc_unlock`, HPF_ANON_READ_LOCK: `${HPF}anon_read_lock`, HPF_ANON_READ_SET: `${HPF}anon_read_set`,
  HPF_ANON_ALLOC: `${HPF}anon_alloc`, HPF_ANON_WRITE_LOCK: `${HPF}anon_write_lock`, HPF_ANON_WRITE_SET: `${HPF}anon_write_set`,
  HPF_ANON_UNLOCK: `${HPF}anon_unlock`, HPF_WP_LOCK: `${HPF}wp_lock`, HPF_WP_CHECK: `${HPF}wp_check`, HPF_WP_ALLOC: `${HPF}wp_alloc`,
  HPF_WP_LOCK2: `${HPF}wp_lock2`, HPF_WP_REPLACE: `${HPF}wp_replace`, HPF_WP_UNLOCK: `${HPF}wp_unlock`, HPF_WP_LOST: `${HPF}wp_lost`,
  PF_UP_READ: `${PF}up_read`,
  FORK_DOWN_WRITE: 'fork.down_write', FORK_HUGE_PTE_ALLOC: `${FC}huge_pte_alloc`, FORK_HUGE_LOCK_DST: `${FC}huge_lock_dst`,
  FORK_HUGE_LOCK_SRC: `${FC}huge_lock_src`, FORK_SET_ZERO: `${FC}set_zero`, FORK_HUGE_COPY: `${FC}huge_copy`, FORK_PTE_ALLOC: `${FC}pte_alloc`,
  FORK_PTE_LOCK_DST: `${FC}pte_lock_dst`, FORK_PTE_LOCK_SRC: `${FC}pte_lock_src`, FORK_COPY_PTES: `${FC}copy_ptes`,
  FORK_UNLOCK_SRC: `${FC}unlock_src`, FORK_UNLOCK_DST: `${FC}unlock_dst`, FORK_UP_WRITE: 'fork.up_write',
  MUNMAP_DOWN_WRITE: 'munmap.down_write', ZAP_HUGE_LOCK: '{zap}.zap_huge_lock', ZAP_HUGE_CLEAR: '{zap}.zap_huge_clear',
  ZAP_HUGE_UNLOCK: '{zap}.zap_huge_unlock', ZAP_HUGE_PUT_PAGE: '{zap}.zap_huge_put_page', ZAP_PTE_LOCK: '{zap}.zap_pte_lock',
  ZAP_PTES: '{zap}.zap_ptes', ZAP_PTE_UNLOCK: '{zap}.zap_pte_unlock', ZAP_PTE_FREE_PAGES: '{zap}.zap_pte_free_pages',
  ZAP_FREE_PGTABLE: '{zap}.free_pgtable', MUNMAP_REMOVE_VMAS: 'munmap.remove_vmas', MUNMAP_UP_WRITE: 'munmap.up_write',
  SPLIT_DOWN_READ: 'split.down_read', SPLIT_SPIN_LOCK: 'split.split_huge_page_pmd.spin_lock',
  SPLIT_ZERO: 'split.split_huge_page_pmd.split_zero', SPLIT_ANON: 'split.split_huge_page_pmd.split_anon',
  SPLIT_SPIN_UNLOCK: 'split.split_huge_page_pmd.spin_unlock', SPLIT_UP_READ: 'split.up_read',
  EXIT_MMPUT: 'exit.mmput', EXIT_MMAP_DONE: 'exit.exit_mmap_done',
  SH_COUNT: 'count', SH_SCAN: 'scan', SH_XCHG: 'xchgPfn', SH_FREE: 'free',
  DONE: 'done',
  EXIT_KHUGEPAGED_EXIT: 'exit.khugepaged_exit', EXIT_KHUGEPAGED_EXIT_UP: 'exit.khugepaged_exit_up',
} satisfies Record<keyof typeof L, string>)) NAMES[L[k as keyof typeof L]] = v;

// call sites of get_huge_zero_page / put_huge_zero_page / unmapRange
const GHZ_FAULT = 0;
const GHZ_FORK = 1;
const GHZ_PATHS = [`${HPA}get_huge_zero_page`, `${FC}get_huge_zero_page`];
const PUT_LOST_ZERO = 0;
const PUT_SPLIT = 1;
const PUT_WP = 2;
const PUT_ZAP = 3;
const ZAP_MUNMAP = 0;
const ZAP_EXIT = 1;
const ZAP_PATHS = ['munmap.unmap', 'exit.exit_mmap'];

const OP_READ = 0;
const OP_WRITE = 1;
const OP_FORK = 2;
const OP_MUNMAP = 3;
const OP_SPLIT = 4;
const OP_EXIT = 5;
interface Op { op: number; vpn: number; end: number; child: string }

const FAULT_NONE = 0;
const FAULT_OK = 1;
const FAULT_FALLBACK = 2;
const FAULT_SIGSEGV = 3;

interface Task {
  ix: number;
  id: string;
  shrinker: boolean;
  st: number;
  done: boolean;
  // task
  mmName: string;
  mm: Mm | null;
  ops: Op[];
  pc: number;
  vpn: number;
  write: boolean;
  fault: number;
  origPmdKind: number;
  origPmdPfn: number;
  pgtable: boolean;
  newPage: number;
  page: number;
  origPte: number;
  cursor: number[];
  ci: number;
  zappedPfn: number;
  zappedZero: boolean;
  zapPages: number[];
  child: Mm | null;
  zeroPfn: number;
  zeroPage: number;
  ghz: number;
  put: number;
  zap: number;
  // shrinker
  passes: number;
  freeable: number;
}

export interface BaselineResult {
  steps: number;
  /** (actor index, state path) per step, when recording. */
  decisions: { actor: string; state: string }[];
  pagesInUse: number;
  hugeZeroRefcount: number;
  counters: { thp_fault_alloc: number; thp_split_pmd: number; thp_zero_page_alloc: number };
}

/** Runs the scenario with the engine's scheduling algorithm and the seed; plain functions only. */
export function runBaseline(s: Scenario, seed: number, record = false): BaselineResult {
  if (Object.values(s.inject).some((p) => p !== undefined && p > 0)) throw new Error('baseline: failure injection is not implemented');
  const want = ['set_huge_zero_page_pmd_none_check', 'free_compound_page_with_order'];
  if (s.variants.length !== 2 || !want.every((v) => s.variants.includes(v))) throw new Error(`baseline: implements variants ${want.join(' + ')} only`);
  const N = s.hpage_pmd_nr;
  const ORDER = Math.log2(N);
  const pages = new Pages(1024);
  const ZERO_PAGE = pages.alloc(0, true);
  let hugeZeroRefcount = 0;
  let hugeZeroPfn = 0;
  let nextToken = 1;
  const counters = { thp_fault_alloc: 0, thp_split_pmd: 0, thp_zero_page_alloc: 0 };

  const mms = new Map<string, Mm>();
  const usersAtFork = new Map<string, number>();
  for (const m of s.mms) {
    const mm = newMm(m.name);
    for (const v of m.vmas) mm.vmas.push({ start: v.start, end: v.start + v.size });
    mms.set(m.name, mm);
  }

  const tasks: Task[] = s.actors.map((spec, ix) => {
    const t: Task = {
      ix, id: spec.id, shrinker: spec.kind === 'huge_zero_page_shrinker', st: L.DONE, done: false,
      mmName: '', mm: null, ops: [], pc: 0, vpn: 0, write: false, fault: FAULT_NONE, origPmdKind: 0, origPmdPfn: -1,
      pgtable: false, newPage: -1, page: -1, origPte: -1, cursor: [], ci: 0, zappedPfn: -1, zappedZero: false, zapPages: [],
      child: null, zeroPfn: 0, zeroPage: 0, ghz: 0, put: 0, zap: 0, passes: 0, freeable: 0,
    };
    if (t.shrinker) {
      t.passes = (spec as unknown as { passes: number }).passes;
      t.st = L.SH_COUNT;
    } else if (spec.kind === 'task') {
      const ts = spec as unknown as { mm: string; ops: unknown[] };
      t.mmName = ts.mm;
      t.ops = ts.ops.map((o): Op => {
        if (o === 'exit') return { op: OP_EXIT, vpn: 0, end: 0, child: '' };
        const r = o as Record<string, unknown>;
        if ('read' in r) return { op: OP_READ, vpn: r.read as number, end: 0, child: '' };
        if ('write' in r) return { op: OP_WRITE, vpn: r.write as number, end: 0, child: '' };
        if ('fork' in r) return { op: OP_FORK, vpn: 0, end: 0, child: r.fork as string };
        if ('split' in r) return { op: OP_SPLIT, vpn: r.split as number, end: 0, child: '' };
        const m = r.munmap as { start: number; size: number };
        return { op: OP_MUNMAP, vpn: m.start, end: m.start + m.size, child: '' };
      });
      const mm = mms.get(ts.mm);
      if (mm) mm.users++;
      else usersAtFork.set(ts.mm, (usersAtFork.get(ts.mm) ?? 0) + 1);
    } else throw new Error(`baseline: actor kind ${spec.kind} is not implemented`);
    return t;
  });

  // ---- helpers (the kernel primitives) ----------------------------------------------------

  /** The task's mm if it can run in it (a fork child's only after dup_mmap). */
  const runnableMm = (t: Task): Mm | null => {
    let mm = t.mm;
    if (mm === null) {
      mm = mms.get(t.mmName) ?? null;
      if (mm === null) return null;
      t.mm = mm;
    }
    return mm.forking ? null : mm;
  };
  const findVma = (mm: Mm, vpn: number): Vma | undefined => {
    for (const v of mm.vmas) if (vpn >= v.start && vpn < v.end) return v;
    return undefined;
  };
  const pmdOf = (mm: Mm, ix: number): Pmd => {
    let p = mm.pmds.get(ix);
    if (!p) {
      p = { kind: PMD_NONE, pfn: -1, writable: false, ptes: null, pteWritable: null, deposited: 0 };
      mm.pmds.set(ix, p);
    }
    return p;
  };
  const kindAt = (mm: Mm, ix: number): number => mm.pmds.get(ix)?.kind ?? PMD_NONE;
  const setPmd = (p: Pmd, kind: number, pfn: number): void => {
    p.kind = kind;
    p.pfn = kind === PMD_HUGE || kind === PMD_HUGE_ZERO ? pfn : -1;
    if (kind === PMD_TABLE) {
      if (!p.ptes) {
        p.ptes = new Int32Array(N).fill(PTE_NONE);
        p.pteWritable = new Uint8Array(N);
      }
    } else {
      p.ptes = null;
      p.pteWritable = null;
    }
  };
  const setPte = (mm: Mm, vpn: number, pfn: number, writable: boolean): void => {
    const p = mm.pmds.get(Math.floor(vpn / N));
    if (!p?.ptes) throw new Error('baseline: set_pte_at without a pte table');
    const i = vpn % N;
    p.ptes[i] = pfn;
    p.pteWritable![i] = writable && pfn !== PTE_NONE ? 1 : 0;
  };
  const pteAt = (mm: Mm, vpn: number): number => {
    const p = mm.pmds.get(Math.floor(vpn / N));
    return p?.ptes ? p.ptes[vpn % N]! : PTE_NONE;
  };
  // translate(): result in these two, returns false if it would fault
  let trPfn = 0;
  let trWritable = false;
  const translate = (mm: Mm, vpn: number): boolean => {
    const p = mm.pmds.get(Math.floor(vpn / N));
    if (!p) return false;
    if (p.kind === PMD_HUGE || p.kind === PMD_HUGE_ZERO) {
      trPfn = p.pfn + (vpn % N);
      trWritable = p.writable;
      return true;
    }
    if (p.kind === PMD_TABLE) {
      const i = vpn % N;
      const pfn = p.ptes![i]!;
      if (pfn === PTE_NONE) return false;
      trPfn = pfn;
      trWritable = p.pteWritable![i] === 1;
      return true;
    }
    return false;
  };
  const isHugeZeroPfn = (pfn: number) => hugeZeroPfn !== 0 && pfn === hugeZeroPfn;
  const mmOf = (t: Task): Mm => t.mm!;
  const pmdIx = (t: Task) => Math.floor(t.vpn / N);
  const curIx = (t: Task) => t.cursor[t.ci]!;
  const lockPtl = (mm: Mm, t: Task) => {
    if (mm.ptl >= 0) throw new Error('baseline: spin_lock of a held lock');
    mm.ptl = t.ix;
  };
  const unlockPtl = (mm: Mm, t: Task) => {
    if (mm.ptl !== t.ix) throw new Error('baseline: spin_unlock by a non-holder');
    mm.ptl = -1;
  };
  const mmapReadFree = (mm: Mm | null) => mm !== null && mm.writer < 0 && mm.life === MM_LIVE;
  const mmapWriteFree = (mm: Mm | null) => mm !== null && mm.writer < 0 && mm.readers === 0 && mm.life === MM_LIVE;
  const faultOk = (t: Task) => {
    if (t.fault === FAULT_NONE || t.fault === FAULT_FALLBACK) t.fault = FAULT_OK;
  };
  const freeHugeZeroPage = (pfn: number) => pages.freePages(pfn, ORDER);
  const putHugeZeroPage = (t: Task, site: number) => {
    t.put = site;
    t.st = L.PUT_DEC;
  };
  /** The child's view of one pmd range: the parent's data as it is when that pmd is copied. */
  const forkSnapshot = (parent: Mm, child: Mm, ix: number) => {
    for (let v = ix * N; v < (ix + 1) * N; v++) {
      const tok = parent.expected.get(v);
      if (tok !== undefined) child.expected.set(v, tok);
    }
  };
  const getHugeZeroPage = (t: Task, site: number) => {
    t.ghz = site;
    t.st = L.GHZ_INC;
  };

  // ---- routing (eventless transitions and returns), run after every step --------------------

  /** next_op: the task's next operation. */
  const nextOp = (t: Task): void => {
    if (t.pc >= t.ops.length) {
      t.st = L.DONE;
      return;
    }
    const op = t.ops[t.pc]!;
    switch (op.op) {
      case OP_READ:
      case OP_WRITE:
        t.vpn = op.vpn;
        t.write = op.op === OP_WRITE;
        t.fault = FAULT_NONE;
        t.st = L.ACCESS;
        return;
      case OP_FORK: t.st = L.FORK_DOWN_WRITE; return;
      case OP_MUNMAP: t.st = L.MUNMAP_DOWN_WRITE; return;
      case OP_SPLIT: t.st = L.SPLIT_DOWN_READ; return;
      default: t.st = L.EXIT_MMPUT;
    }
  };
  const opDone = (t: Task) => {
    t.pc++;
    nextOp(t);
  };
  /** page_fault.route */
  const pageFaultRoute = (t: Task): void => {
    const mm = mmOf(t);
    if (!findVma(mm, t.vpn)) {
      t.fault = FAULT_SIGSEGV;
      t.st = L.PF_UP_READ;
      return;
    }
    const p = pmdOf(mm, pmdIx(t));
    if (p.kind === PMD_NONE && thpEligible(t, mm)) {
      t.st = !t.write ? L.HPA_PTE_ALLOC_ONE : L.HPA_ALLOC_HUGEPAGE;
      return;
    }
    if (t.write && (p.kind === PMD_HUGE || p.kind === PMD_HUGE_ZERO) && !p.writable) {
      t.origPmdKind = p.kind;
      t.origPmdPfn = p.pfn;
      t.st = L.WP_SPIN_LOCK;
      return;
    }
    if (p.kind === PMD_HUGE || p.kind === PMD_HUGE_ZERO) {
      faultOk(t);
      t.st = L.PF_UP_READ;
      return;
    }
    hpfRoute(t);
  };
  const thpEligible = (t: Task, mm: Mm): boolean => {
    const vma = findVma(mm, t.vpn);
    if (!vma) return false;
    const start = pmdIx(t) * N;
    return start >= vma.start && start + N <= vma.end;
  };
  /** do_huge_pmd_anonymous_page returned. */
  const hpaReturned = (t: Task) => {
    if (t.fault === FAULT_FALLBACK) hpfRoute(t);
    else t.st = L.PF_UP_READ;
  };
  /** handle_pte_fault.route */
  const hpfRoute = (t: Task): void => {
    const mm = mmOf(t);
    const kind = pmdOf(mm, pmdIx(t)).kind;
    if (kind === PMD_NONE) t.st = L.HPF_PTE_ALLOC_ONE;
    else if (kind === PMD_TABLE) {
      // pte_route
      const none = pteAt(mm, t.vpn) === PTE_NONE;
      if (none && !t.write) t.st = L.HPF_ANON_READ_LOCK;
      else if (none) t.st = L.HPF_ANON_ALLOC;
      else if (t.write && translate(mm, t.vpn) && !trWritable) {
        t.origPte = pteAt(mm, t.vpn);
        t.st = L.HPF_WP_LOCK;
      } else {
        faultOk(t);
        t.st = L.PF_UP_READ;
      }
    } else {
      faultOk(t);
      t.st = L.PF_UP_READ;
    }
  };
  const ghzReturned = (t: Task) => {
    if (t.ghz === GHZ_FAULT) {
      if (t.zeroPfn === 0) throw new Error('baseline: zero_fallback needs failure injection');
      t.st = L.HPA_SPIN_LOCK;
    } else t.st = L.FORK_SET_ZERO;
  };
  const putReturned = (t: Task) => {
    switch (t.put) {
      case PUT_LOST_ZERO: hpaReturned(t); return;
      case PUT_SPLIT: t.st = L.SPLIT_SPIN_UNLOCK; return;
      case PUT_WP: t.st = L.WP_SPIN_UNLOCK; return;
      default: zapAdvance(t);
    }
  };
  /** dup_mmap's copy loop: copy.next */
  const forkNext = (t: Task): void => {
    const mm = mmOf(t);
    for (;;) {
      if (t.ci >= t.cursor.length) {
        t.st = L.FORK_UP_WRITE;
        return;
      }
      const kind = kindAt(mm, curIx(t));
      if (kind === PMD_HUGE || kind === PMD_HUGE_ZERO) {
        t.st = L.FORK_HUGE_PTE_ALLOC;
        return;
      }
      if (kind === PMD_TABLE) {
        t.st = L.FORK_PTE_ALLOC;
        return;
      }
      t.ci++;
    }
  };
  /** unmapRange's loop: next */
  const zapNext = (t: Task): void => {
    const mm = mmOf(t);
    for (;;) {
      if (t.ci >= t.cursor.length) {
        t.st = t.zap === ZAP_MUNMAP ? L.MUNMAP_REMOVE_VMAS : L.EXIT_MMAP_DONE;
        return;
      }
      const kind = kindAt(mm, curIx(t));
      if (kind === PMD_HUGE || kind === PMD_HUGE_ZERO) {
        t.st = L.ZAP_HUGE_LOCK;
        return;
      }
      if (kind === PMD_TABLE) {
        t.st = L.ZAP_PTE_LOCK;
        return;
      }
      t.ci++;
    }
  };
  const zapAdvance = (t: Task) => {
    t.ci++;
    zapNext(t);
  };
  const shPassDone = (t: Task) => {
    if (t.passes > 1) {
      t.passes--;
      t.st = L.SH_COUNT;
    } else t.st = L.DONE;
  };

  // ---- runnable: the guards of the STEP states that have them --------------------------------

  const runnable = (t: Task): boolean => {
    switch (t.st) {
      case L.ACCESS: {
        const mm = runnableMm(t);
        if (mm === null) return false;
        if (findVma(mm, t.vpn) && translate(mm, t.vpn) && (!t.write || trWritable)) return true;
        return mmapReadFree(mm);
      }
      case L.HPA_SPIN_LOCK: case L.HPA_SPIN_LOCK_W: case L.WP_SPIN_LOCK: case L.WP_SPIN_LOCK2:
      case L.HPF_PTE_ALLOC_LOCK: case L.HPF_ANON_READ_LOCK: case L.HPF_ANON_WRITE_LOCK: case L.HPF_WP_LOCK: case L.HPF_WP_LOCK2:
      case L.SPLIT_SPIN_LOCK: case L.FORK_HUGE_LOCK_SRC: case L.FORK_PTE_LOCK_SRC: case L.ZAP_HUGE_LOCK: case L.ZAP_PTE_LOCK:
        return t.mm!.ptl < 0;
      case L.FORK_HUGE_LOCK_DST: case L.FORK_PTE_LOCK_DST:
        return t.child!.ptl < 0;
      case L.FORK_DOWN_WRITE: case L.MUNMAP_DOWN_WRITE:
        return mmapWriteFree(runnableMm(t));
      case L.SPLIT_DOWN_READ:
        return mmapReadFree(runnableMm(t));
      case L.EXIT_MMPUT:
        return runnableMm(t) !== null;
      case L.EXIT_KHUGEPAGED_EXIT:
        return t.mm!.writer < 0 && t.mm!.readers === 0;
      case L.DONE:
        return false;
      default:
        return true;
    }
  };

  // ---- one atomic step ---------------------------------------------------------------------

  const step = (t: Task): void => {
    const mm = t.mm!;
    switch (t.st) {
      case L.ACCESS: {
        if (findVma(mm, t.vpn) && translate(mm, t.vpn) && (!t.write || trWritable)) {
          if (t.write) {
            const token = nextToken++;
            pages.data[trPfn] = token;
            mm.expected.set(t.vpn, token);
          } else void pages.data[trPfn];
          opDone(t);
        } else {
          mm.readers++;
          pageFaultRoute(t);
        }
        return;
      }
      // do_huge_pmd_anonymous_page, read: the huge zero page
      case L.HPA_PTE_ALLOC_ONE:
        t.pgtable = true;
        getHugeZeroPage(t, GHZ_FAULT);
        return;
      case L.HPA_SPIN_LOCK:
        lockPtl(mm, t);
        t.st = L.HPA_SET_HUGE_ZERO;
        return;
      case L.HPA_SET_HUGE_ZERO: {
        const p = pmdOf(mm, pmdIx(t));
        if (p.kind !== PMD_NONE) {
          t.st = L.HPA_LOST_ZERO_UNLOCK;
          return;
        }
        setPmd(p, PMD_HUGE_ZERO, t.zeroPfn);
        p.writable = false;
        p.deposited++;
        t.pgtable = false;
        mm.nr_ptes++;
        t.st = L.HPA_SPIN_UNLOCK;
        return;
      }
      case L.HPA_LOST_ZERO_UNLOCK:
        unlockPtl(mm, t);
        t.st = L.HPA_LOST_ZERO_PTE_FREE;
        return;
      case L.HPA_LOST_ZERO_PTE_FREE:
        t.pgtable = false;
        faultOk(t);
        putHugeZeroPage(t, PUT_LOST_ZERO);
        return;
      case L.HPA_SPIN_UNLOCK:
        unlockPtl(mm, t);
        faultOk(t);
        hpaReturned(t);
        return;
      // do_huge_pmd_anonymous_page, write: a new huge page
      case L.HPA_ALLOC_HUGEPAGE:
        t.newPage = pages.alloc(ORDER, false);
        counters.thp_fault_alloc++;
        t.st = L.HPA_CLEAR;
        return;
      case L.HPA_CLEAR:
        pages.data.fill(0, t.newPage, t.newPage + N);
        t.st = L.HPA_PTE_ALLOC_ONE_W;
        return;
      case L.HPA_PTE_ALLOC_ONE_W:
        t.pgtable = true;
        t.st = L.HPA_SPIN_LOCK_W;
        return;
      case L.HPA_SPIN_LOCK_W:
        lockPtl(mm, t);
        t.st = L.HPA_SET_PMD;
        return;
      case L.HPA_SET_PMD: {
        const p = pmdOf(mm, pmdIx(t));
        if (p.kind !== PMD_NONE) {
          t.st = L.HPA_LOST_UNLOCK;
          return;
        }
        pages.mapPmd(t.newPage);
        pages.lruAdd(t.newPage);
        setPmd(p, PMD_HUGE, t.newPage);
        p.writable = true;
        p.deposited++;
        mm.anon += N;
        mm.nr_ptes++;
        t.pgtable = false;
        t.newPage = -1;
        t.st = L.HPA_SPIN_UNLOCK;
        return;
      }
      case L.HPA_LOST_UNLOCK:
        unlockPtl(mm, t);
        t.st = L.HPA_LOST_RELEASE;
        return;
      case L.HPA_LOST_RELEASE:
        pages.put(t.newPage);
        t.newPage = -1;
        t.pgtable = false;
        faultOk(t);
        hpaReturned(t);
        return;
      // get_huge_zero_page()
      case L.GHZ_INC:
        if (hugeZeroRefcount !== 0) {
          hugeZeroRefcount++;
          t.st = L.GHZ_READPFN;
        } else t.st = L.GHZ_ALLOC;
        return;
      case L.GHZ_READPFN:
        t.zeroPfn = hugeZeroPfn;
        ghzReturned(t);
        return;
      case L.GHZ_ALLOC:
        t.zeroPage = pages.alloc(ORDER, true);
        t.st = L.GHZ_PUBLISH;
        return;
      case L.GHZ_PUBLISH:
        if (hugeZeroPfn === 0) {
          hugeZeroPfn = t.zeroPage;
          counters.thp_zero_page_alloc++;
          t.st = L.GHZ_SETCOUNT;
        } else t.st = L.GHZ_FREEOURS;
        return;
      case L.GHZ_FREEOURS:
        freeHugeZeroPage(t.zeroPage);
        t.zeroPage = 0;
        t.st = L.GHZ_INC;
        return;
      case L.GHZ_SETCOUNT:
        hugeZeroRefcount = 2;
        t.st = L.GHZ_READPFN;
        return;
      // put_huge_zero_page()
      case L.PUT_DEC:
        if (--hugeZeroRefcount === 0) throw new Error('baseline: put_huge_zero_page() dropped the last reference');
        putReturned(t);
        return;
      // do_huge_pmd_wp_page
      case L.WP_SPIN_LOCK:
        lockPtl(mm, t);
        t.st = L.WP_CHECK;
        return;
      case L.WP_CHECK: {
        const p = pmdOf(mm, pmdIx(t));
        if (p.kind !== t.origPmdKind || p.pfn !== t.origPmdPfn) {
          unlockPtl(mm, t);
          faultOk(t);
          t.st = L.PF_UP_READ;
        } else if (isHugeZeroPfn(t.origPmdPfn)) {
          unlockPtl(mm, t);
          t.st = L.WP_ALLOC;
        } else if (pages.pageMapcount(t.origPmdPfn) === 1) {
          p.writable = true;
          unlockPtl(mm, t);
          faultOk(t);
          t.st = L.PF_UP_READ;
        } else {
          pages.get(t.origPmdPfn);
          t.page = t.origPmdPfn;
          unlockPtl(mm, t);
          t.st = L.WP_ALLOC;
        }
        return;
      }
      case L.WP_ALLOC:
        t.newPage = pages.alloc(ORDER, false);
        counters.thp_fault_alloc++;
        t.st = L.WP_COPY;
        return;
      case L.WP_COPY: {
        const d = pages.data;
        if (isHugeZeroPfn(t.origPmdPfn)) d.fill(0, t.newPage, t.newPage + N);
        else d.copyWithin(t.newPage, t.origPmdPfn, t.origPmdPfn + N);
        t.st = L.WP_SPIN_LOCK2;
        return;
      }
      case L.WP_SPIN_LOCK2:
        lockPtl(mm, t);
        if (t.page >= 0) {
          pages.put(t.page);
          t.page = -1;
        }
        t.st = L.WP_REPLACE;
        return;
      case L.WP_REPLACE: {
        const p = pmdOf(mm, pmdIx(t));
        if (p.kind !== t.origPmdKind || p.pfn !== t.origPmdPfn) {
          unlockPtl(mm, t);
          t.st = L.WP_LOST_RELEASE;
        } else if (isHugeZeroPfn(t.origPmdPfn)) {
          pages.mapPmd(t.newPage);
          pages.lruAdd(t.newPage);
          setPmd(p, PMD_HUGE, t.newPage);
          p.writable = true;
          mm.anon += N;
          t.newPage = -1;
          putHugeZeroPage(t, PUT_WP);
        } else {
          const old = t.origPmdPfn;
          pages.mapPmd(t.newPage);
          pages.lruAdd(t.newPage);
          setPmd(p, PMD_HUGE, t.newPage);
          p.writable = true;
          pages.unmapPmd(old);
          pages.put(old);
          t.newPage = -1;
          t.st = L.WP_SPIN_UNLOCK;
        }
        return;
      }
      case L.WP_SPIN_UNLOCK:
        unlockPtl(mm, t);
        faultOk(t);
        t.st = L.PF_UP_READ;
        return;
      case L.WP_LOST_RELEASE:
        pages.put(t.newPage);
        t.newPage = -1;
        faultOk(t);
        t.st = L.PF_UP_READ;
        return;
      // handle_pte_fault
      case L.HPF_PTE_ALLOC_ONE:
        t.pgtable = true;
        t.st = L.HPF_PTE_ALLOC_LOCK;
        return;
      case L.HPF_PTE_ALLOC_LOCK:
        lockPtl(mm, t);
        t.st = L.HPF_PTE_ALLOC_POPULATE;
        return;
      case L.HPF_PTE_ALLOC_POPULATE: {
        const p = pmdOf(mm, pmdIx(t));
        if (p.kind === PMD_NONE) {
          setPmd(p, PMD_TABLE, -1);
          mm.nr_ptes++;
        }
        t.pgtable = false;
        t.st = L.HPF_PTE_ALLOC_UNLOCK;
        return;
      }
      case L.HPF_PTE_ALLOC_UNLOCK:
        unlockPtl(mm, t);
        hpfRoute(t);
        return;
      case L.HPF_ANON_READ_LOCK:
        lockPtl(mm, t);
        t.st = L.HPF_ANON_READ_SET;
        return;
      case L.HPF_ANON_READ_SET:
        if (pteAt(mm, t.vpn) === PTE_NONE) setPte(mm, t.vpn, ZERO_PAGE, false);
        t.st = L.HPF_ANON_UNLOCK;
        return;
      case L.HPF_ANON_ALLOC:
        t.newPage = pages.alloc(0, true);
        t.st = L.HPF_ANON_WRITE_LOCK;
        return;
      case L.HPF_ANON_WRITE_LOCK:
        lockPtl(mm, t);
        t.st = L.HPF_ANON_WRITE_SET;
        return;
      case L.HPF_ANON_WRITE_SET:
        if (pteAt(mm, t.vpn) === PTE_NONE) {
          pages.mapPte(t.newPage);
          pages.lruAdd(t.newPage);
          setPte(mm, t.vpn, t.newPage, true);
          mm.anon++;
          t.newPage = -1;
          t.st = L.HPF_ANON_UNLOCK;
        } else {
          unlockPtl(mm, t);
          pages.put(t.newPage);
          t.newPage = -1;
          faultOk(t);
          t.st = L.PF_UP_READ;
        }
        return;
      case L.HPF_ANON_UNLOCK:
        unlockPtl(mm, t);
        faultOk(t);
        t.st = L.PF_UP_READ;
        return;
      case L.HPF_WP_LOCK:
        lockPtl(mm, t);
        t.st = L.HPF_WP_CHECK;
        return;
      case L.HPF_WP_CHECK:
        if (pteAt(mm, t.vpn) !== t.origPte) {
          unlockPtl(mm, t);
          faultOk(t);
          t.st = L.PF_UP_READ;
        } else if (t.origPte === ZERO_PAGE) {
          unlockPtl(mm, t);
          t.st = L.HPF_WP_ALLOC;
        } else if (pages.pageMapcount(t.origPte) === 1 && pages.head[t.origPte] === t.origPte) {
          setPte(mm, t.vpn, t.origPte, true);
          unlockPtl(mm, t);
          faultOk(t);
          t.st = L.PF_UP_READ;
        } else {
          pages.get(t.origPte);
          t.page = t.origPte;
          unlockPtl(mm, t);
          t.st = L.HPF_WP_ALLOC;
        }
        return;
      case L.HPF_WP_ALLOC:
        t.newPage = pages.alloc(0, true);
        pages.data[t.newPage] = t.origPte === ZERO_PAGE ? 0 : pages.data[t.origPte]!;
        t.st = L.HPF_WP_LOCK2;
        return;
      case L.HPF_WP_LOCK2:
        lockPtl(mm, t);
        t.st = L.HPF_WP_REPLACE;
        return;
      case L.HPF_WP_REPLACE:
        if (pteAt(mm, t.vpn) === t.origPte) {
          const old = t.origPte;
          pages.mapPte(t.newPage);
          pages.lruAdd(t.newPage);
          setPte(mm, t.vpn, t.newPage, true);
          if (old === ZERO_PAGE) mm.anon++;
          else {
            pages.unmapPte(old);
            pages.put(old);
          }
          t.newPage = -1;
          t.st = L.HPF_WP_UNLOCK;
        } else {
          unlockPtl(mm, t);
          t.st = L.HPF_WP_LOST;
        }
        return;
      case L.HPF_WP_UNLOCK:
        unlockPtl(mm, t);
        if (t.page >= 0) {
          pages.put(t.page);
          t.page = -1;
        }
        faultOk(t);
        t.st = L.PF_UP_READ;
        return;
      case L.HPF_WP_LOST:
        pages.put(t.newPage);
        t.newPage = -1;
        if (t.page >= 0) {
          pages.put(t.page);
          t.page = -1;
        }
        faultOk(t);
        t.st = L.PF_UP_READ;
        return;
      case L.PF_UP_READ:
        mm.readers--;
        if (t.fault === FAULT_SIGSEGV) t.st = L.EXIT_MMPUT;
        else t.st = L.ACCESS;
        return;
      // fork: dup_mmap
      case L.FORK_DOWN_WRITE: {
        mm.writer = t.ix;
        const op = t.ops[t.pc]!;
        const child = newMm(op.child);
        child.users = usersAtFork.get(op.child) ?? 1;
        child.forking = true;
        for (const v of mm.vmas) child.vmas.push({ ...v });
        mms.set(op.child, child);
        t.child = child;
        t.cursor = [...mm.pmds.keys()].sort((x, y) => x - y);
        t.ci = 0;
        forkNext(t);
        return;
      }
      case L.FORK_HUGE_PTE_ALLOC:
        t.pgtable = true;
        t.st = L.FORK_HUGE_LOCK_DST;
        return;
      case L.FORK_HUGE_LOCK_DST:
        lockPtl(t.child!, t);
        t.st = L.FORK_HUGE_LOCK_SRC;
        return;
      case L.FORK_HUGE_LOCK_SRC: {
        lockPtl(mm, t);
        const p = mm.pmds.get(curIx(t));
        if (p && p.kind !== PMD_TABLE && isHugeZeroPfn(p.pfn)) getHugeZeroPage(t, GHZ_FORK);
        else if (p && (p.kind === PMD_HUGE || p.kind === PMD_HUGE_ZERO)) t.st = L.FORK_HUGE_COPY;
        else {
          t.pgtable = false;
          t.st = L.FORK_UNLOCK_SRC;
        }
        return;
      }
      case L.FORK_SET_ZERO: {
        const child = t.child!;
        const p = pmdOf(child, curIx(t));
        setPmd(p, PMD_HUGE_ZERO, t.zeroPfn);
        p.writable = false;
        p.deposited++;
        child.nr_ptes++;
        t.pgtable = false;
        forkSnapshot(mm, child, curIx(t));
        t.st = L.FORK_UNLOCK_SRC;
        return;
      }
      case L.FORK_HUGE_COPY: {
        const child = t.child!;
        const ix = curIx(t);
        const src = pmdOf(mm, ix);
        const head = src.pfn;
        pages.get(head);
        pages.mapPmd(head);
        setPmd(src, PMD_HUGE, head);
        src.writable = false;
        const dst = pmdOf(child, ix);
        setPmd(dst, PMD_HUGE, head);
        dst.writable = false;
        dst.deposited++;
        child.nr_ptes++;
        child.anon += N;
        t.pgtable = false;
        forkSnapshot(mm, child, ix);
        t.st = L.FORK_UNLOCK_SRC;
        return;
      }
      case L.FORK_PTE_ALLOC: {
        const child = t.child!;
        setPmd(pmdOf(child, curIx(t)), PMD_TABLE, -1);
        child.nr_ptes++;
        t.pgtable = false;
        t.st = L.FORK_PTE_LOCK_DST;
        return;
      }
      case L.FORK_PTE_LOCK_DST:
        lockPtl(t.child!, t);
        t.st = L.FORK_PTE_LOCK_SRC;
        return;
      case L.FORK_PTE_LOCK_SRC:
        lockPtl(mm, t);
        t.st = L.FORK_COPY_PTES;
        return;
      case L.FORK_COPY_PTES: {
        const child = t.child!;
        const ix = curIx(t);
        const base = ix * N;
        const src = pmdOf(mm, ix);
        for (let i = 0; i < N; i++) {
          const pfn = src.ptes![i]!;
          if (pfn === PTE_NONE) continue;
          if (pfn !== ZERO_PAGE) {
            pages.get(pfn);
            pages.mapPte(pfn);
            child.anon++;
            if (src.pteWritable![i]) setPte(mm, base + i, pfn, false);
          }
          setPte(child, base + i, pfn, false);
        }
        forkSnapshot(mm, child, ix);
        t.st = L.FORK_UNLOCK_SRC;
        return;
      }
      case L.FORK_UNLOCK_SRC:
        unlockPtl(mm, t);
        t.st = L.FORK_UNLOCK_DST;
        return;
      case L.FORK_UNLOCK_DST:
        unlockPtl(t.child!, t);
        t.ci++;
        forkNext(t);
        return;
      case L.FORK_UP_WRITE:
        mm.writer = -1;
        t.child!.forking = false;
        opDone(t);
        return;
      // munmap and exit_mmap: unmapRange
      case L.MUNMAP_DOWN_WRITE: {
        mm.writer = t.ix;
        const op = t.ops[t.pc]!;
        t.cursor = [];
        for (let i = Math.floor(op.vpn / N); i < Math.ceil(op.end / N); i++) t.cursor.push(i);
        t.ci = 0;
        t.zap = ZAP_MUNMAP;
        zapNext(t);
        return;
      }
      case L.ZAP_HUGE_LOCK:
        lockPtl(mm, t);
        t.st = L.ZAP_HUGE_CLEAR;
        return;
      case L.ZAP_HUGE_CLEAR: {
        const p = pmdOf(mm, curIx(t));
        const pfn = p.pfn;
        const zero = isHugeZeroPfn(pfn);
        setPmd(p, PMD_NONE, -1);
        p.deposited--;
        mm.nr_ptes--;
        t.zappedPfn = pfn;
        t.zappedZero = zero;
        if (!zero) {
          pages.unmapPmd(pfn);
          mm.anon -= N;
        }
        t.st = L.ZAP_HUGE_UNLOCK;
        return;
      }
      case L.ZAP_HUGE_UNLOCK:
        unlockPtl(mm, t);
        if (t.zappedZero) putHugeZeroPage(t, PUT_ZAP);
        else t.st = L.ZAP_HUGE_PUT_PAGE;
        return;
      case L.ZAP_HUGE_PUT_PAGE:
        pages.put(t.zappedPfn);
        zapAdvance(t);
        return;
      case L.ZAP_PTE_LOCK:
        lockPtl(mm, t);
        t.st = L.ZAP_PTES;
        return;
      case L.ZAP_PTES: {
        const ix = curIx(t);
        const base = ix * N;
        const p = pmdOf(mm, ix);
        t.zapPages = [];
        for (let i = 0; i < N; i++) {
          const pfn = p.ptes![i]!;
          if (pfn === PTE_NONE) continue;
          setPte(mm, base + i, PTE_NONE, false);
          if (pfn === ZERO_PAGE) continue;
          pages.unmapPte(pfn);
          mm.anon--;
          t.zapPages.push(pfn);
        }
        t.st = L.ZAP_PTE_UNLOCK;
        return;
      }
      case L.ZAP_PTE_UNLOCK:
        unlockPtl(mm, t);
        t.st = L.ZAP_PTE_FREE_PAGES;
        return;
      case L.ZAP_PTE_FREE_PAGES:
        for (const pfn of t.zapPages) pages.put(pfn);
        t.zapPages = [];
        t.st = L.ZAP_FREE_PGTABLE;
        return;
      case L.ZAP_FREE_PGTABLE:
        setPmd(pmdOf(mm, curIx(t)), PMD_NONE, -1);
        mm.nr_ptes--;
        zapAdvance(t);
        return;
      case L.MUNMAP_REMOVE_VMAS: {
        const op = t.ops[t.pc]!;
        const keep: Vma[] = [];
        for (const v of mm.vmas) {
          if (v.end <= op.vpn || v.start >= op.end) keep.push(v);
          else {
            if (v.start < op.vpn) keep.push({ start: v.start, end: op.vpn });
            if (v.end > op.end) keep.push({ start: op.end, end: v.end });
          }
        }
        mm.vmas = keep;
        for (let v = op.vpn; v < op.end; v++) mm.expected.delete(v);
        t.st = L.MUNMAP_UP_WRITE;
        return;
      }
      case L.MUNMAP_UP_WRITE:
        mm.writer = -1;
        opDone(t);
        return;
      // split_huge_page_pmd
      case L.SPLIT_DOWN_READ:
        mm.readers++;
        t.vpn = t.ops[t.pc]!.vpn;
        t.st = L.SPLIT_SPIN_LOCK;
        return;
      case L.SPLIT_SPIN_LOCK: {
        lockPtl(mm, t);
        const p = pmdOf(mm, pmdIx(t));
        if (isHugeZeroPfn(p.pfn) && p.kind !== PMD_TABLE) t.st = L.SPLIT_ZERO;
        else if (p.kind === PMD_HUGE || p.kind === PMD_HUGE_ZERO) t.st = L.SPLIT_ANON;
        else t.st = L.SPLIT_SPIN_UNLOCK;
        return;
      }
      case L.SPLIT_ZERO: {
        const ix = pmdIx(t);
        const base = ix * N;
        const p = pmdOf(mm, ix);
        setPmd(p, PMD_TABLE, -1);
        p.deposited--;
        for (let i = 0; i < N; i++) setPte(mm, base + i, ZERO_PAGE, false);
        putHugeZeroPage(t, PUT_SPLIT);
        return;
      }
      case L.SPLIT_ANON: {
        const ix = pmdIx(t);
        const base = ix * N;
        const p = pmdOf(mm, ix);
        const head = p.pfn;
        const writable = p.writable;
        setPmd(p, PMD_TABLE, -1);
        p.deposited--;
        for (let i = 0; i < N; i++) {
          pages.mapPte(head + i);
          setPte(mm, base + i, head + i, writable);
        }
        for (let i = 1; i < N; i++) pages.get(head);
        pages.unmapPmd(head);
        counters.thp_split_pmd++;
        t.st = L.SPLIT_SPIN_UNLOCK;
        return;
      }
      case L.SPLIT_SPIN_UNLOCK:
        unlockPtl(mm, t);
        t.st = L.SPLIT_UP_READ;
        return;
      case L.SPLIT_UP_READ:
        mm.readers--;
        opDone(t);
        return;
      // exit
      case L.EXIT_MMPUT:
        if (mm.users === 1) {
          mm.users--;
          mm.life = MM_EXITING;
          t.cursor = [...mm.pmds.keys()].sort((x, y) => x - y);
          t.ci = 0;
          t.zap = ZAP_EXIT;
          t.st = L.EXIT_KHUGEPAGED_EXIT; // __khugepaged_exit: down_write; up_write
        } else {
          mm.users--;
          t.st = L.DONE;
        }
        return;
      case L.EXIT_KHUGEPAGED_EXIT:
        mm.writer = t.ix;
        t.st = L.EXIT_KHUGEPAGED_EXIT_UP;
        return;
      case L.EXIT_KHUGEPAGED_EXIT_UP:
        mm.writer = -1;
        zapNext(t);
        return;
      case L.EXIT_MMAP_DONE:
        mm.vmas.length = 0;
        mm.expected.clear();
        mm.life = MM_EXITED;
        t.st = L.DONE;
        return;
      default:
        throw new Error(`baseline: ${t.id}: no step from ${NAMES[t.st]}`);
    }
  };

  const shrinkerStep = (t: Task): void => {
    switch (t.st) {
      case L.SH_COUNT:
        t.freeable = hugeZeroRefcount === 1 ? N : 0;
        if (t.freeable > 0) t.st = L.SH_SCAN;
        else shPassDone(t);
        return;
      case L.SH_SCAN:
        if (hugeZeroRefcount === 1) {
          hugeZeroRefcount = 0;
          t.st = L.SH_XCHG;
        } else shPassDone(t);
        return;
      case L.SH_XCHG:
        t.zeroPfn = hugeZeroPfn;
        hugeZeroPfn = 0;
        if (t.zeroPfn === 0) throw new Error('baseline: BUG_ON(zero_pfn == 0)');
        t.st = L.SH_FREE;
        return;
      case L.SH_FREE:
        freeHugeZeroPage(t.zeroPfn);
        t.zeroPfn = 0;
        shPassDone(t);
        return;
      default:
        throw new Error(`baseline: shrinker: no step from ${NAMES[t.st]}`);
    }
  };

  const pathOf = (t: Task): string => {
    const n = NAMES[t.st]!;
    if (n.startsWith('{ghz}')) return GHZ_PATHS[t.ghz] + n.slice(5);
    if (n.startsWith('{zap}')) return ZAP_PATHS[t.zap] + n.slice(5);
    if (n.startsWith('{put}')) {
      const site = t.put === PUT_LOST_ZERO ? `${HPA}lost_zero_put`
        : t.put === PUT_SPLIT ? 'split.split_huge_page_pmd.put_huge_zero_page'
        : t.put === PUT_WP ? `${WP}put_huge_zero_page`
        : `${ZAP_PATHS[t.zap]}.put_huge_zero_page`;
      return site + n.slice(5);
    }
    return n;
  };

  // ---- start, then the scheduler loop (the engine's algorithm) ---------------------------------

  for (const t of tasks) if (!t.shrinker) nextOp(t);
  const rng = new Rng(seed);
  const decisions: { actor: string; state: string }[] = [];
  const live: Task[] = tasks.filter((t) => !t.done);
  let steps = 0;
  for (;;) {
    // a uniformly random runnable task, drawn by rejection from the live tasks
    let t: Task | null = null;
    let n = live.length;
    while (n > 0) {
      const i = n === 1 ? 0 : rng.below(n);
      const x = live[i]!;
      if (runnable(x)) {
        t = x;
        break;
      }
      live[i] = live[n - 1]!;
      live[n - 1] = x;
      n--;
    }
    if (t === null) break;
    if (steps >= s.max_steps) throw new Error('baseline: step bound');
    if (record) decisions.push({ actor: t.id, state: pathOf(t) });
    if (t.shrinker) shrinkerStep(t);
    else step(t);
    steps++;
    if (t.st === L.DONE) {
      t.done = true;
      live.splice(live.indexOf(t), 1);
    }
  }
  for (const t of tasks) if (!t.done) throw new Error(`baseline: ${t.id} blocked in ${pathOf(t)}`);

  let inUse = 0;
  for (let p = 0; p < pages.nr; p++) if (pages.flags[p]! & F_ALLOC) inUse++;
  return { steps, decisions, pagesInUse: inUse, hugeZeroRefcount, counters };
}
