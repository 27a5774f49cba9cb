/**
 * The struct page array (mem_map), kept compact: every field is a typed array indexed
 * by pfn, so 262,144 pages cost tens of bytes each. Every command goes through the page
 * chart's table (machines/page.ts): an illegal command is reported as an invariant
 * violation, never applied. Every accepted command is published on the bus.
 */
import type { PageEvent } from '../../machines/page.ts';
import { baseRegionCount, compiledObjectChart, watchObjectChart } from '../object_charts.ts';
import type { CompiledObjectChart } from '../engine/object_chart.ts';
import type { Bus } from '../bus/bus.ts';
import type { ActorIx } from '../bus/events.ts';
import { guardProbe, mightSleepHook } from './probe.ts';
import { type StateVector, VECTOR_COLUMNS } from '../vector/state_vector.ts';
import { FREE_AREA, FreeAreaColumns } from './free_area.ts';

/**
 * A command to a page: one of machines/page.ts's, or one an extension added to the page
 * chart (extendObjectChart('page', ...): SET_WRITEBACK, ...).
 */
export type PageCommand = PageEvent | (string & {});

/**
 * The page chart the store runs: the current definition (machines/page.ts with any
 * extensions), recompiled when an extension is registered. An extension appends regions,
 * so the states of the built-in ones keep their numbers and the tests below stay valid.
 */
export let PAGE_CHART: CompiledObjectChart<PageCommand> = compiledObjectChart('page');
/** The team head chart (machines/team_head.ts): every pfn has a state in it, `none` but on a team head. */
export const TEAM_HEAD_CHART = compiledObjectChart('team_head');
let NS = PAGE_CHART.nStates;
let NEXT = PAGE_CHART.next;
let EV: Record<string, number> = PAGE_CHART.eventIndex;
/** The page chart's built-in regions: describe() names an extension's only once it leaves its initial state. */
const BASE_REGIONS = baseRegionCount('page');
watchObjectChart('page', (c) => {
  PAGE_CHART = c;
  NS = c.nStates;
  NEXT = c.next;
  EV = c.eventIndex;
});
/** A precomputed "is region R in state S" test on a packed page state. */
function inState(region: string, name: string): (s: number) => boolean {
  const ri = PAGE_CHART.regionNames.indexOf(region);
  const si = ri < 0 ? -1 : PAGE_CHART.regionStates[ri]!.indexOf(name);
  if (si < 0) throw new Error(`page chart has no state ${region}.${name}`);
  const radix = PAGE_CHART.radix[ri]!;
  const len = PAGE_CHART.regionStates[ri]!.length;
  return (s) => Math.floor(s / radix) % len === si;
}
const ALLOCATED = inState('alloc', 'allocated');
const LOCKED = inState('lock', 'locked');
const FROZEN = inState('ref', 'frozen');
const ON_LRU = inState('lru', 'on_lru');
const UPTODATE = inState('uptodate', 'uptodate');
const DIRTY = inState('dirty', 'dirty');
const MAPPED = inState('mapped', 'mapped');

/** inState()'s tests by 'region.state', each for the chart it was made for. */
const stateTests = new Map<string, { chart: CompiledObjectChart<PageCommand>; test: (s: number) => boolean }>();

/** Page flags that are plain bits (no lifecycle of their own in the seeds). */
export const PG = {
  head: 1 << 0,
  tail: 1 << 1,
  active: 1 << 2,
  unevictable: 1 << 3,
  swapbacked: 1 << 4,
  checked: 1 << 5,
  team: 1 << 6,
  reserved: 1 << 7,
  /** An anonymous THP on the deferred split queue, some of its pages unmapped (folio_test_partially_mapped, v6.12; list_empty(_deferred_list) before). Cleared when it is freed. */
  partially_mapped: 1 << 8,
} as const;
export type PageFlag = keyof typeof PG;

/** Data tokens: what a page holds. 0 = zeroes, GARBAGE = whatever was there before; >0 = a write. */
export const DATA_ZERO = 0;
export const DATA_GARBAGE = -1;

/** Who reports an illegal command: the kernel records the violation and stops the step. */
export interface PageOwner {
  readonly bus: Bus;
  illegal(object: string, command: string, state: string, actor: ActorIx): never;
  violate(invariant: string, message: string, actor: ActorIx): never;
  /** A PageTeam page's first pte mapping made (+1) or last removed (-1): inc_team_pte_mapped / dec_team_pte_mapped. */
  teamPteMapped(pfn: number, delta: 1 | -1, actor: ActorIx): void;
  /** A huge pmd of a team made (+1) or zapped (-1): page_add_team_rmap / page_remove_team_rmap. */
  teamPmdMapped(head: number, delta: 1 | -1, actor: ActorIx): void;
}

/** A saved page store (PageStore.saveState). */
export interface PageStoreSaved {
  nr: number;
  arrays: ArrayLike<number>[];
  free: (readonly [number, number[]])[];
}

/** Each page array's fill beyond nr, in PageStore.arrays() order. */
const FILL = [PAGE_CHART.initial, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, TEAM_HEAD_CHART.initial, 0];
/** The arrays by their place in PageStore.arrays() (a column of the state vector each, in a search world). */
const STATE = 0, FLAGS = 1, REFCOUNT = 2, MAPCOUNT = 3, PMD_MAPCOUNT = 4, ORDER = 5, HEAD = 6, MAPPING = 7, INDEX = 8, DATA = 9, LRU = 10, TEAM_STATE = 11, TEAM_USAGE = 12;
const COLUMN_NAMES = ['state', 'flags', 'refcount', 'mapcount', 'pmdMapcount', 'order', 'head', 'mapping', 'index', 'data', 'lru', 'teamState', 'teamUsage'];
type PageArray = Uint16Array | Int32Array | Uint8Array | Int8Array | Float64Array;
/** Each array's kind, in arrays() order. */
const KINDS: (new (n: number) => PageArray)[] = [Uint16Array, Uint16Array, Int32Array, Int32Array, Int32Array, Uint8Array, Int32Array, Int32Array, Int32Array, Int32Array, Int8Array, Uint8Array, Float64Array];

export class PageStore {
  /** Packed page-chart state per pfn. */
  state: Uint16Array;
  flags: Uint16Array;
  refcount: Int32Array;
  /** Mappings counted on this struct page (ptes of it; on a head, also pmds of the compound). */
  mapcount: Int32Array;
  /** compound_mapcount: pmd mappings of a compound page, kept on its head. */
  pmdMapcount: Int32Array;
  order: Uint8Array;
  /** Compound head pfn (a head or order-0 page points to itself). */
  head: Int32Array;
  /** address_space id, or -1 (anonymous / none). */
  mapping: Int32Array;
  index: Int32Array;
  data: Int32Array;
  /** Which LRU list the page is on (index into LRU_LISTS), or -1. */
  lru: Int8Array;
  /** Packed team-head chart state per pfn (huge tmpfs, seed 001). */
  teamState: Uint8Array;
  /**
   * head->team_usage: TEAM_PAGE_COUNTER per instantiated page, TEAM_PTE_COUNTER per member
   * mapped by ptes (team_pte_mapped), plus the LRU weight (src/memory/team.ts).
   */
  teamUsage: Float64Array;
  nr = 0;
  /** The buddy allocator's free lists by order (in the order first freed). */
  readonly freeLists = new Map<number, number[]>();
  /**
   * In a world a search copies and hashes, the state vector whose columns the arrays are
   * (layIn): every write goes through it too (w16…, fill16…), which keeps its hash and undo
   * trail, and so do `nr` and the free lists (the free area's columns): the store is then
   * no state component of its own. Null: a plain run, the arrays only.
   */
  private sv: StateVector | null = null;
  /** The state vector's column of the first array (the rest follow, in arrays() order). */
  private col0 = 0;
  /** In a world a search copies and hashes: `nr` and the free lists mirrored in columns of the vector (./free_area.ts). */
  private [FREE_AREA]: FreeAreaColumns | null = null;

  constructor(private readonly k: PageOwner, capacity = 1024) {
    this.state = new Uint16Array(capacity);
    this.flags = new Uint16Array(capacity);
    this.refcount = new Int32Array(capacity);
    this.mapcount = new Int32Array(capacity);
    this.pmdMapcount = new Int32Array(capacity);
    this.order = new Uint8Array(capacity);
    this.head = new Int32Array(capacity);
    this.mapping = new Int32Array(capacity);
    this.index = new Int32Array(capacity);
    this.data = new Int32Array(capacity);
    this.lru = new Int8Array(capacity).fill(-1);
    this.teamState = new Uint8Array(capacity).fill(TEAM_HEAD_CHART.initial);
    this.teamUsage = new Float64Array(capacity);
    this.state.fill(PAGE_CHART.initial);
  }

  get capacity(): number {
    return this.state.length;
  }

  /** Whether the arrays are columns of a state vector (layIn): then the store's own state is `nr` and the free lists. */
  get inVector(): boolean {
    return this.sv !== null;
  }

  /** The arrays become columns of the state vector (a world a search copies and hashes). */
  layIn(sv: StateVector): void {
    const arrays = this.arrays();
    this.col0 = sv.addColumn(`mem_map.${COLUMN_NAMES[0]}`, arrays[0]!, FILL[0]!);
    for (let i = 1; i < arrays.length; i++) sv.addColumn(`mem_map.${COLUMN_NAMES[i]}`, arrays[i]!, FILL[i]!);
    if (this.nr !== 0 || this.freeLists.size !== 0) throw new Error('mem_map: laid in a state vector after its first allocation');
    this.sv = sv;
    this[FREE_AREA] = new FreeAreaColumns(sv, this);
    // (walks write where its columns start and do not enter it: it is no state component)
    (this as unknown as Record<symbol, number>)[VECTOR_COLUMNS] = this.col0;
  }

  /** nr = n (in a search world, its column too). */
  private setNr(n: number): void {
    this.nr = n;
    this[FREE_AREA]?.nr(n);
  }

  // page->field = x, for array `c` of arrays() (`a`, as the caller sees it: through a
  // footprint's view, the write is recorded), and in a search world the state vector told
  // (a plain run reads nothing first): a function per kind of array, so each element access
  // sees one kind.
  private w16(c: number, a: Uint16Array, pfn: number, x: number): void {
    const sv = this.sv;
    if (sv === null) {
      a[pfn] = x;
      return;
    }
    const o = a[pfn]!;
    a[pfn] = x;
    if (o !== x) sv.wrote(this.col0 + c, pfn, o, x);
  }
  private w32(c: number, a: Int32Array, pfn: number, x: number): void {
    const sv = this.sv;
    if (sv === null) {
      a[pfn] = x;
      return;
    }
    const o = a[pfn]!;
    a[pfn] = x;
    if (o !== x) sv.wrote(this.col0 + c, pfn, o, x);
  }
  private w8(c: number, a: Uint8Array, pfn: number, x: number): void {
    const sv = this.sv;
    if (sv === null) {
      a[pfn] = x;
      return;
    }
    const o = a[pfn]!;
    a[pfn] = x;
    if (o !== x) sv.wrote(this.col0 + c, pfn, o, x);
  }
  private wi8(c: number, a: Int8Array, pfn: number, x: number): void {
    const sv = this.sv;
    if (sv === null) {
      a[pfn] = x;
      return;
    }
    const o = a[pfn]!;
    a[pfn] = x;
    if (o !== x) sv.wrote(this.col0 + c, pfn, o, x);
  }
  private w64(c: number, a: Float64Array, pfn: number, x: number): void {
    const sv = this.sv;
    if (sv === null) {
      a[pfn] = x;
      return;
    }
    const o = a[pfn]!;
    a[pfn] = x;
    if (o !== x) sv.wrote(this.col0 + c, pfn, o, x);
  }

  // a.fill(x, from, to) on array `c` of arrays(), as the writes above
  private fill16(c: number, a: Uint16Array, x: number, from: number, to: number): void {
    const sv = this.sv;
    if (sv !== null) {
      for (let p = from; p < to; p++) {
        const o = a[p]!;
        if (o !== x) sv.wrote(this.col0 + c, p, o, x);
      }
    }
    a.fill(x, from, to);
  }
  private fill32(c: number, a: Int32Array, x: number, from: number, to: number): void {
    const sv = this.sv;
    if (sv !== null) {
      for (let p = from; p < to; p++) {
        const o = a[p]!;
        if (o !== x) sv.wrote(this.col0 + c, p, o, x);
      }
    }
    a.fill(x, from, to);
  }
  private fill8(c: number, a: Uint8Array, x: number, from: number, to: number): void {
    const sv = this.sv;
    if (sv !== null) {
      for (let p = from; p < to; p++) {
        const o = a[p]!;
        if (o !== x) sv.wrote(this.col0 + c, p, o, x);
      }
    }
    a.fill(x, from, to);
  }
  private fill64(c: number, a: Float64Array, x: number, from: number, to: number): void {
    const sv = this.sv;
    if (sv !== null) {
      for (let p = from; p < to; p++) {
        const o = a[p]!;
        if (o !== x) sv.wrote(this.col0 + c, p, o, x);
      }
    }
    a.fill(x, from, to);
  }

  /** page->mapping = the address_space of inode `ino` (-1: none). */
  setMapping(pfn: number, ino: number): void { this.w32(MAPPING, this.mapping, pfn, ino); }
  /** page->index. */
  setIndex(pfn: number, index: number): void { this.w32(INDEX, this.index, pfn, index); }
  /** What the page holds now: a data token (DATA_ZERO, DATA_GARBAGE, a write's). */
  setData(pfn: number, token: number): void { this.w32(DATA, this.data, pfn, token); }
  /** The team head chart's packed state of `head` (src/memory/team.ts). */
  setTeamState(head: number, s: number): void { this.w8(TEAM_STATE, this.teamState, head, s); }
  /** head->team_usage. */
  setTeamUsage(pfn: number, usage: number): void { this.w64(TEAM_USAGE, this.teamUsage, pfn, usage); }

  /**
   * What the explorer's state hash reads of the store: the pages in use. Beyond `nr` every
   * array still holds its initial fill (alloc() only ever extends nr), so hashing the
   * prefixes loses nothing and skips the room left to grow.
   */
  hashState(e: { b: Int32Array; n: number; grow(min: number): void }): void {
    const n = this.nr;
    // (in a search world the arrays are the state vector's columns, in its own hash)
    const pages = this.sv === null ? n : 0;
    let words = 2 + 14 * pages;
    this.freeLists.forEach((l) => (words += 2 + l.length));
    e.grow(e.n + words);
    const b = e.b;
    let at = e.n;
    b[at++] = n;
    // a page's fields together, each array read in a loop of its own kind
    const { state, flags, refcount, mapcount, pmdMapcount, order, head, mapping, index, data, lru, teamState, teamUsage } = this;
    for (let pfn = 0; pfn < pages; pfn++) {
      b[at++] = state[pfn]!;
      b[at++] = flags[pfn]!;
      b[at++] = refcount[pfn]!;
      b[at++] = mapcount[pfn]!;
      b[at++] = pmdMapcount[pfn]!;
      b[at++] = order[pfn]!;
      b[at++] = head[pfn]!;
      b[at++] = mapping[pfn]!;
      b[at++] = index[pfn]!;
      b[at++] = data[pfn]!;
      b[at++] = lru[pfn]!;
      b[at++] = teamState[pfn]!;
      // team_usage is a long (TEAM_COMPLETE is 2^31 at HPAGE_PMD_ORDER 9): two words
      const u = teamUsage[pfn]!;
      b[at++] = u | 0;
      b[at++] = (u / 4294967296) | 0;
    }
    // the free lists
    b[at++] = this.freeLists.size;
    this.freeLists.forEach((l, o) => {
      b[at++] = o;
      b[at++] = l.length;
      for (let i = 0; i < l.length; i++) b[at++] = l[i]!;
    });
    e.n = at;
  }

  /**
   * A dfs snapshot of the store: the pages in use (beyond `nr` every array holds its fill)
   * and the free lists — a few hundred bytes, not the arrays' whole capacity.
   */
  saveState(): PageStoreSaved {
    const n = this.nr;
    return {
      nr: n,
      arrays: this.sv === null ? this.arrays().map((a) => a.slice(0, n)) : [],
      free: [...this.freeLists].map(([order, l]) => [order, l.slice()] as const),
    };
  }

  /** Back to a saved state (the pages allocated since go back to their fill). */
  restoreState(saved: PageStoreSaved): void {
    // (in a search world the vector restores the arrays, its columns, before)
    const arrays = this.sv === null ? this.arrays() : [];
    for (let i = 0; i < arrays.length; i++) {
      const a = arrays[i]!;
      a.set(saved.arrays[i]!);
      if (this.nr > saved.nr) a.fill(FILL[i]!, saved.nr, this.nr);
    }
    this.nr = saved.nr;
    this.freeLists.clear();
    for (const [order, l] of saved.free) this.freeLists.set(order, l.slice());
  }

  private arrays(): PageArray[] {
    return [this.state, this.flags, this.refcount, this.mapcount, this.pmdMapcount, this.order, this.head, this.mapping, this.index, this.data, this.lru, this.teamState, this.teamUsage];
  }

  private grow(min: number): void {
    let cap = this.capacity;
    while (cap < min) cap *= 2;
    // (made here, so raw arrays even where `this` is a footprint's view: those go to the vector)
    const grown = this.arrays().map((a, i) => {
      const b = new KINDS[i]!(cap);
      if (FILL[i] !== 0) b.fill(FILL[i]!);
      b.set(a);
      return b;
    });
    [this.state, this.flags, this.refcount, this.mapcount, this.pmdMapcount, this.order, this.head, this.mapping, this.index, this.data, this.lru, this.teamState, this.teamUsage] =
      grown as [Uint16Array, Uint16Array, Int32Array, Int32Array, Int32Array, Uint8Array, Int32Array, Int32Array, Int32Array, Int32Array, Int8Array, Uint8Array, Float64Array];
    if (this.sv !== null) for (let i = 0; i < grown.length; i++) this.sv.setColumn(this.col0 + i, grown[i]!);
  }

  /** Applies one page-chart command; an illegal one is a violation. */
  private cmd(pfn: number, ev: PageCommand, actor: ActorIx): void {
    if (!(pfn >= 0 && pfn < this.nr)) this.k.violate('bad-pfn', `${ev} on pfn ${pfn}, outside mem_map`, actor);
    const s = this.state[pfn]!;
    const n = NEXT[EV[ev] * NS + s]!;
    if (n < 0) this.k.illegal(`page ${hex(pfn)}`, ev, this.describe(pfn), actor);
    this.w16(STATE, this.state, pfn, n);
  }

  private emit(op: PageCommand, pfn: number, actor: ActorIx, holder = ''): void {
    this.k.bus.publish({ kind: 'page', op, pfn, actor, refcount: this.refcount[pfn]!, mapcount: this.mapcount[pfn]!, holder });
  }

  /**
   * A command an extension added to the page chart (e.g. SET_WRITEBACK): applied through
   * the chart's table like a built-in one — illegal in the page's state, a violation — and
   * published on the bus (the trace prints it as page_<command>).
   */
  command(pfn: number, op: PageCommand, actor: ActorIx): void {
    if (EV[op] === undefined) throw new Error(`the page chart has no command '${op}' (${PAGE_CHART.def.events.join(', ')})`);
    this.cmd(pfn, op, actor);
    this.emit(op, pfn, actor);
  }

  // ---- queries -----------------------------------------------------------------------

  /** Whether the page is in `state` ('region.state' as a chart guard writes it: 'writeback.writeback'). */
  inState(pfn: number, state: string): boolean {
    let test = stateTests.get(state);
    if (!test || test.chart !== PAGE_CHART) {
      const [region, name] = state.split('.');
      test = { chart: PAGE_CHART, test: inState(region!, name!) };
      stateTests.set(state, test);
    }
    return test.test(this.state[pfn]!);
  }

  isAllocated(pfn: number): boolean { return ALLOCATED(this.state[pfn]!); }
  isLocked(pfn: number): boolean { return LOCKED(this.state[pfn]!); }
  isFrozen(pfn: number): boolean {
    if (guardProbe !== null) guardProbe.frozen(pfn);
    return FROZEN(this.state[pfn]!);
  }
  isOnLru(pfn: number): boolean { return ON_LRU(this.state[pfn]!); }
  isUptodate(pfn: number): boolean { return UPTODATE(this.state[pfn]!); }
  isDirty(pfn: number): boolean { return DIRTY(this.state[pfn]!); }
  isMapped(pfn: number): boolean { return MAPPED(this.state[pfn]!); }
  compoundHead(pfn: number): number { return this.head[pfn]!; }
  /** page_count(): the head's refcount. */
  pageCount(pfn: number): number { return this.refcount[this.head[pfn]!]!; }
  /** page_mapcount(subpage): its pte mappings plus the compound's pmd mappings. */
  pageMapcount(pfn: number): number {
    const h = this.head[pfn]!;
    return h === pfn ? this.mapcount[pfn]! : this.mapcount[pfn]! + this.pmdMapcount[h]!;
  }
  /**
   * The pages of the compound page at `head` that a pte maps (folio->_nr_pages_mapped's
   * FOLIO_PAGES_MAPPED part): a page's own mapcount, less the pmd mappings the head's counts too.
   */
  ptesMappedPages(head: number): number {
    const n = 1 << this.order[head]!;
    let m = 0;
    for (let p = head; p < head + n; p++) if (this.pteMapcount(p) > 0) m++;
    return m;
  }
  /** The ptes mapping this page (page->_mapcount + 1 of a page in a THP): its mapcount less the pmds a head's counts too. */
  pteMapcount(pfn: number): number {
    return this.head[pfn] === pfn ? this.mapcount[pfn]! - this.pmdMapcount[pfn]! : this.mapcount[pfn]!;
  }
  testFlag(pfn: number, f: PageFlag): boolean { return (this.flags[pfn]! & PG[f]) !== 0; }
  setFlag(pfn: number, f: PageFlag): void { this.w16(FLAGS, this.flags, pfn, this.flags[pfn]! | PG[f]); }
  clearFlag(pfn: number, f: PageFlag): void { this.w16(FLAGS, this.flags, pfn, this.flags[pfn]! & ~PG[f]); }

  /**
   * The page's chart state in words, for reports: "allocated locked live on_lru uptodate ...";
   * an extension's region only once it has left its initial state, so reports read as
   * before wherever the extension plays no part.
   */
  describe(pfn: number): string {
    const s = this.state[pfn]!;
    const words = PAGE_CHART.regionNames.flatMap((r, i) => (i < BASE_REGIONS || PAGE_CHART.digit(s, i) !== 0 ? [PAGE_CHART.regionStates[i]![PAGE_CHART.digit(s, i)]!] : []));
    return `${words.join(' ')} count=${this.refcount[pfn]} mapcount=${this.mapcount[pfn]}`;
  }

  // ---- the buddy allocator (alloc_pages / __free_pages) ------------------------------

  /** alloc_pages(order): a fresh page (or compound page) with one reference, held by `holder`. */
  alloc(order: number, zeroed: boolean, actor: ActorIx, holder = ''): number {
    // every allocation the modelled kernel code makes may reclaim (none is GFP_ATOMIC)
    if (mightSleepHook !== null && actor >= 0) mightSleepHook(`alloc_pages(order ${order})`, actor);
    const n = 1 << order;
    const list = this.freeLists.get(order);
    let pfn: number;
    if (list && list.length) {
      pfn = list.pop()!;
      this[FREE_AREA]?.list(order, list.length, -1, list.length);
    } else {
      pfn = Math.ceil(this.nr / n) * n;
      if (pfn + n > this.capacity) this.grow(pfn + n);
      // an alignment gap becomes free small pages
      for (let p = this.nr; p < pfn; p++) this.pushFree(0, p);
      this.setNr(pfn + n);
    }
    const alloc = EV.ALLOC * NS;
    const state = this.state;
    const data = this.data;
    for (let p = pfn; p < pfn + n; p++) {
      const next = NEXT[alloc + state[p]!]!;
      if (next < 0) this.k.illegal(`page ${hex(p)}`, 'ALLOC', this.describe(p), actor);
      this.w16(STATE, state, p, next);
      if (zeroed) this.w32(DATA, data, p, DATA_ZERO);
      else if (data[p] === DATA_ZERO) this.w32(DATA, data, p, DATA_GARBAGE);
      // otherwise: whatever the previous owner left there (stale data stays stale)
    }
    const end = pfn + n;
    this.fill32(HEAD, this.head, pfn, pfn, end);
    this.fill8(ORDER, this.order, 0, pfn, end);
    this.fill64(TEAM_USAGE, this.teamUsage, 0, pfn, end);
    this.fill16(FLAGS, this.flags, PG.tail, pfn, end);
    this.w16(FLAGS, this.flags, pfn, order ? PG.head : 0);
    this.fill32(MAPPING, this.mapping, -1, pfn, end);
    this.fill32(INDEX, this.index, 0, pfn, end);
    this.fill32(REFCOUNT, this.refcount, 0, pfn, end);
    this.fill32(MAPCOUNT, this.mapcount, 0, pfn, end);
    this.fill32(PMD_MAPCOUNT, this.pmdMapcount, 0, pfn, end);
    this.w8(ORDER, this.order, pfn, order);
    this.w32(REFCOUNT, this.refcount, pfn, 1);
    this.emit('ALLOC', pfn, actor, holder);
    return pfn;
  }

  /**
   * split_page(page, order): a freshly allocated high-order page becomes 1 << order
   * independent order-0 pages, each with one reference, all held by `holder` (huge tmpfs
   * allocates a team this way).
   */
  splitPage(pfn: number, actor: ActorIx, holder = ''): void {
    const n = 1 << this.order[pfn]!;
    if (this.refcount[pfn] !== 1) this.k.violate('illegal-transition', `split_page(${hex(pfn)}) with page_count ${this.refcount[pfn]}, not 1`, actor);
    for (let p = pfn; p < pfn + n; p++) {
      this.w32(HEAD, this.head, p, p);
      this.w8(ORDER, this.order, p, 0);
      this.w16(FLAGS, this.flags, p, this.flags[p]! & ~(PG.head | PG.tail));
    }
    for (let p = pfn + 1; p < pfn + n; p++) this.get(p, actor, holder);
  }

  private pushFree(order: number, pfn: number): void {
    let l = this.freeLists.get(order);
    if (!l) this.freeLists.set(order, (l = []));
    l.push(pfn);
    this[FREE_AREA]?.list(order, l.length - 1, pfn, l.length);
  }

  /**
   * __free_pages(page, order): drops the caller's reference and, if it was the last,
   * returns the page to the allocator. Freeing a compound page with an order other than
   * its own (e.g. __free_page() on a huge page) leaks its tail pages: a violation.
   */
  freePages(pfn: number, actor: ActorIx, order = this.order[pfn]!, holder = ''): void {
    if (order !== this.order[pfn]) {
      const n = (1 << this.order[pfn]!) - (1 << order);
      this.k.violate('compound-free-order',
        `__free_pages(${hex(pfn)}, order ${order}) on a compound page of order ${this.order[pfn]}: its ${n} tail pages are leaked`, actor);
    }
    this.put(pfn, actor, holder);
  }

  /**
   * The last reference is gone: __page_cache_release() takes the page off its LRU, then
   * it goes back to the allocator. The page chart refuses to free a mapped, locked or
   * frozen page.
   */
  private release(pfn: number, actor: ActorIx): void {
    const order = this.order[pfn]!;
    const n = 1 << order;
    // free_pages_check(): PG_team is among the flags a page must not be freed with
    if (this.testFlag(pfn, 'team')) this.k.violate('team', `Bad page state: page ${hex(pfn)} freed while PageTeam`, actor);
    if (this.isOnLru(pfn)) this.isolate(pfn, actor);
    const free = EV.FREE * NS;
    const state = this.state;
    for (let p = pfn; p < pfn + n; p++) {
      if (this.isUptodate(p)) this.cmd(p, 'CLEAR_UPTODATE', actor);
      if (this.isDirty(p)) this.cmd(p, 'CLEAR_DIRTY', actor);
      const next = NEXT[free + state[p]!]!;
      if (next < 0) this.k.illegal(`page ${hex(p)}`, 'FREE', this.describe(p), actor);
      this.w16(STATE, state, p, next);
    }
    this.fill16(FLAGS, this.flags, 0, pfn, pfn + n);
    this.emit('FREE', pfn, actor);
    this.pushFree(order, pfn);
  }

  // ---- references -------------------------------------------------------------------

  /** get_page(): on the compound head; `holder` keeps the reference ('' for a mapping or cache slot). */
  get(pfn: number, actor: ActorIx, holder = ''): void {
    const h = this.head[pfn]!;
    this.cmd(h, 'GET', actor);
    this.w32(REFCOUNT, this.refcount, h, this.refcount[h]! + 1);
    this.emit('GET', h, actor, holder);
  }

  /** put_page(): drops `holder`'s reference; the last one frees the page. Returns true if freed. */
  put(pfn: number, actor: ActorIx, holder = ''): boolean {
    const h = this.head[pfn]!;
    this.cmd(h, 'PUT', actor);
    this.w32(REFCOUNT, this.refcount, h, this.refcount[h]! - 1);
    this.emit('PUT', h, actor, holder);
    if (this.refcount[h] === 0) {
      this.release(h, actor);
      return true;
    }
    return false;
  }

  /** get_page_unless_zero(): fails on a frozen (or free) page instead of touching it. */
  getUnlessZero(pfn: number, actor: ActorIx): boolean {
    const h = this.head[pfn]!;
    if (this.refcount[h] === 0) return false;
    this.get(h, actor);
    return true;
  }

  /** page_ref_freeze(page, count): atomically count → 0 if the count is exactly `count`. */
  freeze(pfn: number, count: number, actor: ActorIx): boolean {
    if (this.refcount[pfn] !== count) return false;
    this.cmd(pfn, 'FREEZE', actor);
    this.w32(REFCOUNT, this.refcount, pfn, 0);
    this.emit('FREEZE', pfn, actor);
    return true;
  }

  /** page_ref_unfreeze(page, count). */
  unfreeze(pfn: number, count: number, actor: ActorIx): void {
    this.cmd(pfn, 'UNFREEZE', actor);
    this.w32(REFCOUNT, this.refcount, pfn, count);
    this.emit('UNFREEZE', pfn, actor);
  }

  // ---- PG_locked: the lock object itself is in locks.ts; these are its state changes ----

  setLocked(pfn: number, actor: ActorIx): void { this.cmd(pfn, 'LOCK', actor); this.emit('LOCK', pfn, actor); }
  clearLocked(pfn: number, actor: ActorIx): void { this.cmd(pfn, 'UNLOCK', actor); this.emit('UNLOCK', pfn, actor); }

  // ---- PG_lru, PG_uptodate, PG_dirty -----------------------------------------------------

  /** lru_cache_add(): onto the list page_lru() picks from PG_swapbacked, PG_active, PG_unevictable. */
  lruAdd(pfn: number, actor: ActorIx): void {
    this.cmd(pfn, 'LRU_ADD', actor);
    const list = this.testFlag(pfn, 'unevictable') ? 4 : (this.testFlag(pfn, 'swapbacked') ? 0 : 2) + (this.testFlag(pfn, 'active') ? 1 : 0);
    this.wi8(LRU, this.lru, pfn, list);
    this.k.bus.publish({ kind: 'vmstat', item: LRU_LISTS[list]!, delta: this.nrPages(pfn), actor });
    this.emit('LRU_ADD', pfn, actor);
  }
  /** isolate_lru_page() / del_page_from_lru_list(). */
  isolate(pfn: number, actor: ActorIx): void {
    this.cmd(pfn, 'ISOLATE', actor);
    this.k.bus.publish({ kind: 'vmstat', item: LRU_LISTS[this.lru[pfn]!]!, delta: -this.nrPages(pfn), actor });
    this.wi8(LRU, this.lru, pfn, -1);
    this.emit('ISOLATE', pfn, actor);
  }
  private nrPages(pfn: number): number { return 1 << this.order[pfn]!; }
  setUptodate(pfn: number, actor: ActorIx): void { this.cmd(pfn, 'SET_UPTODATE', actor); this.emit('SET_UPTODATE', pfn, actor); }
  clearUptodate(pfn: number, actor: ActorIx): void { this.cmd(pfn, 'CLEAR_UPTODATE', actor); this.emit('CLEAR_UPTODATE', pfn, actor); }
  setDirty(pfn: number, actor: ActorIx): void { this.cmd(pfn, 'SET_DIRTY', actor); this.emit('SET_DIRTY', pfn, actor); }
  clearDirty(pfn: number, actor: ActorIx): void { this.cmd(pfn, 'CLEAR_DIRTY', actor); this.emit('CLEAR_DIRTY', pfn, actor); }

  // ---- rmap: page_add_*_rmap / page_remove_rmap -----------------------------------------

  /** A pte now maps this subpage. */
  mapPte(pfn: number, actor: ActorIx): void { this.mapInc(pfn, actor); }
  unmapPte(pfn: number, actor: ActorIx): void { this.mapDec(pfn, actor); }

  /** A pmd now maps this compound page (compound_mapcount on the head). */
  mapPmd(head: number, actor: ActorIx): void {
    this.w32(PMD_MAPCOUNT, this.pmdMapcount, head, this.pmdMapcount[head]! + 1);
    this.mapInc(head, actor);
    // a huge tmpfs team (order-0 pages) mapped by one pmd: map_team_by_pmd's page_add_team_rmap
    if (this.order[head] === 0 && this.testFlag(head, 'team')) this.k.teamPmdMapped(head, 1, actor);
  }
  unmapPmd(head: number, actor: ActorIx): void {
    this.w32(PMD_MAPCOUNT, this.pmdMapcount, head, this.pmdMapcount[head]! - 1);
    this.mapDec(head, actor);
    if (this.order[head] === 0 && this.testFlag(head, 'team')) this.k.teamPmdMapped(head, -1, actor);
  }

  private mapInc(pfn: number, actor: ActorIx): void {
    const ev: PageEvent = this.mapcount[pfn] === 0 ? 'MAP_FIRST' : 'MAP';
    this.cmd(pfn, ev, actor);
    this.w32(MAPCOUNT, this.mapcount, pfn, this.mapcount[pfn]! + 1);
    this.emit(ev, pfn, actor);
    // page_add_file_rmap: "if (atomic_inc_and_test(&page->_mapcount) && inc_team_pte_mapped(page))"
    if (ev === 'MAP_FIRST' && this.testFlag(pfn, 'team')) this.k.teamPteMapped(pfn, 1, actor);
  }

  private mapDec(pfn: number, actor: ActorIx): void {
    const ev: PageEvent = this.mapcount[pfn] === 1 ? 'UNMAP_LAST' : 'UNMAP';
    this.cmd(pfn, ev, actor);
    this.w32(MAPCOUNT, this.mapcount, pfn, this.mapcount[pfn]! - 1);
    this.emit(ev, pfn, actor);
    if (ev === 'UNMAP_LAST' && this.testFlag(pfn, 'team')) this.k.teamPteMapped(pfn, -1, actor);
  }

  /** Bytes held by the page arrays per page (for the bench). */
  static bytesPerPage(): number {
    return 2 + 2 + 4 + 4 + 4 + 1 + 4 + 4 + 4 + 4 + 1 + 1 + 8;
  }
}

/** The LRU lists (enum lru_list), as their /proc/vmstat counters. */
export const LRU_LISTS = ['nr_inactive_anon', 'nr_active_anon', 'nr_inactive_file', 'nr_active_file', 'nr_unevictable'] as const;

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

