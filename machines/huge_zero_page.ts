/**
 * Seed 004 (thp: implement refcounting for huge zero page): get_huge_zero_page(),
 * put_huge_zero_page() and the huge zero page shrinker, one state per atomic step as in
 * ../shared/design.md § A worked example of the granularity.
 *
 * get_huge_zero_page() and put_huge_zero_page() are written as compound states that
 * callers embed (a call); the shrinker is its own actor (machines are registered in
 * src/actors/).
 */
import type { StateDef } from '../src/engine/chart.ts';
import type { TaskAction, TaskChartDef, TaskGuard } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import { int, struct } from '../src/vector/struct.ts';

export interface HugeZeroLocals {
  /** The pfn get_huge_zero_page() returns (0 = failed). */
  zero_pfn: number;
  /** The page this caller allocated and tries to publish. */
  zero_page: number;
}
export const hugeZeroLocals = struct<HugeZeroLocals>('get_huge_zero_page', { zero_pfn: int(), zero_page: int() });

type A = Actor<HugeZeroLocals>;

/** get_huge_zero_page(): returns through `returned` with l.zero_pfn set (0 on failure). */
export function getHugeZeroPageStates(): StateDef {
  return {
    meta: { kernel: 'get_huge_zero_page' },
    initial: 'incNotZero',
    states: {
      incNotZero: {
        meta: { kernel: 'get_huge_zero_page: atomic_inc_not_zero(&huge_zero_refcount)' },
        on: {
          STEP: [
            { guard: 'hugeZeroRefcountNotZero', actions: 'atomicIncNotZero', target: 'readPfn' },
            { actions: 'atomicIncNotZeroFailed', target: 'alloc' },
          ],
        },
      },
      readPfn: {
        meta: { kernel: 'get_huge_zero_page: return ACCESS_ONCE(huge_zero_pfn)' },
        on: { STEP: { actions: 'readHugeZeroPfn', target: 'returned' } },
      },
      alloc: {
        meta: { kernel: 'get_huge_zero_page: alloc_pages(GFP_TRANSHUGE | __GFP_ZERO, HPAGE_PMD_ORDER)', inject: 'alloc_huge_page', sleeps: 'alloc_pages' },
        on: {
          STEP: [
            { guard: 'injectedFailure', actions: 'hugeZeroAllocFailed', target: 'returned' },
            { actions: 'allocHugeZeroPage', target: 'publish' },
          ],
        },
      },
      publish: {
        meta: { kernel: 'get_huge_zero_page: cmpxchg(&huge_zero_pfn, 0, page_to_pfn(zero_page))' },
        on: {
          STEP: [
            { guard: 'hugeZeroPfnUnset', actions: 'cmpxchgHugeZeroPfnWon', target: 'setCount' },
            { actions: 'cmpxchgHugeZeroPfnLost', target: 'freeOurs' },
          ],
        },
      },
      freeOurs: {
        meta: { kernel: 'get_huge_zero_page: __free_page(zero_page); goto retry' },
        on: { STEP: { actions: 'freeOurHugeZeroPage', target: 'incNotZero' } },
      },
      setCount: {
        meta: { kernel: 'get_huge_zero_page: atomic_set(&huge_zero_refcount, 2)' },
        on: { STEP: { actions: 'atomicSetHugeZeroRefcount2', target: 'readPfn' } },
      },
      returned: { type: 'final' },
    },
  };
}

/** put_huge_zero_page(): BUG_ON(atomic_dec_and_test(&huge_zero_refcount)). */
export function putHugeZeroPageStates(): StateDef {
  return {
    meta: { kernel: 'put_huge_zero_page' },
    initial: 'dec',
    states: {
      dec: {
        meta: { kernel: 'put_huge_zero_page: BUG_ON(atomic_dec_and_test(&huge_zero_refcount))' },
        on: { STEP: { actions: 'atomicDecHugeZeroRefcount', target: 'returned' } },
      },
      returned: { type: 'final' },
    },
  };
}

export const hugeZeroGuards: Record<string, TaskGuard<A>> = {
  hugeZeroRefcountNotZero: (a) => a.k.huge_zero_refcount !== 0,
  hugeZeroPfnUnset: (a) => a.k.huge_zero_pfn === 0,
  injectedFailure: (_a, ev) => ev.fail === true,
};

/**
 * __free_page() on the huge zero page, as the seed writes it, frees order 0 of an order-
 * HPAGE_PMD_ORDER compound page; variant `free_compound_page_with_order` (mainline
 * 5ddacbe92b80, "mm: free compound page with correct order") frees the whole page.
 */
export function freeHugeZeroPage(a: Actor, pfn: number): void {
  const order = a.k.variant('free_compound_page_with_order') ? a.k.HPAGE_PMD_ORDER : 0;
  a.k.pages.freePages(pfn, a.ix, order, a.id);
}

export const hugeZeroActions: Record<string, TaskAction<A>> = {
  atomicIncNotZero: (a) => {
    const k = a.k;
    k.atomic('huge_zero_refcount', 'atomic_inc_not_zero', k.huge_zero_refcount + 1, a.ix);
    k.ref('take', 'huge_zero_refcount', -1, '', a.id, a.ix);
  },
  atomicIncNotZeroFailed: (a) => {
    a.k.trace(a.ix, 'huge_zero_page', 'op=atomic_inc_not_zero ret=0');
  },
  readHugeZeroPfn: (a) => {
    a.l.zero_pfn = a.k.huge_zero_pfn;
  },
  hugeZeroAllocFailed: (a) => {
    a.l.zero_pfn = 0;
    a.k.count('thp_zero_page_alloc_failed', 1, a.ix);
  },
  allocHugeZeroPage: (a) => {
    a.l.zero_page = a.k.pages.alloc(a.k.HPAGE_PMD_ORDER, true, a.ix, a.id);
  },
  cmpxchgHugeZeroPfnWon: (a) => {
    a.k.atomic('huge_zero_pfn', 'cmpxchg', a.l.zero_page, a.ix);
    a.k.ref('move', 'page', a.l.zero_page, a.id, 'huge_zero_pfn', a.ix);
    a.k.count('thp_zero_page_alloc', 1, a.ix);
    if (a.k.tracing) a.k.trace(a.ix, 'huge_zero_page', `op=alloc pfn=0x${a.l.zero_page.toString(16)}`);
  },
  cmpxchgHugeZeroPfnLost: (a) => {
    if (a.k.tracing) a.k.trace(a.ix, 'huge_zero_page', `op=cmpxchg_lost pfn=0x${a.k.huge_zero_pfn.toString(16)}`);
  },
  freeOurHugeZeroPage: (a) => {
    freeHugeZeroPage(a, a.l.zero_page);
    a.l.zero_page = 0;
  },
  atomicSetHugeZeroRefcount2: (a) => {
    a.k.atomic('huge_zero_refcount', 'atomic_set', 2, a.ix);
    // "We take additional reference here. It will be put back by shrinker"
    a.k.ref('take', 'huge_zero_refcount', -1, '', a.id, a.ix);
    a.k.ref('take', 'huge_zero_refcount', -1, '', 'shrinker', a.ix);
  },
  atomicDecHugeZeroRefcount: (a) => {
    const k = a.k;
    const v = k.huge_zero_refcount - 1;
    k.atomic('huge_zero_refcount', 'atomic_dec_and_test', v, a.ix);
    k.ref('drop', 'huge_zero_refcount', -1, a.id, '', a.ix);
    if (v === 0) {
      k.violate('huge-zero-put-last', 'BUG_ON(atomic_dec_and_test(&huge_zero_refcount)): put_huge_zero_page() dropped the last reference; only the shrinker may');
    }
  },
};

// ---- the shrinker ------------------------------------------------------------------------

export interface ShrinkerLocals {
  /** shrink_slab() passes left to run. */
  passes: number;
  /** Simulated time between passes (ns): reclaim runs again later, as kswapd does. */
  interval_ns: number;
  freeable: number;
  zero_pfn: number;
}
export const shrinkerLocals = struct<ShrinkerLocals>('shrink_huge_zero_page', { passes: int(), interval_ns: int(), freeable: int(), zero_pfn: int() });

type S = Actor<ShrinkerLocals>;

/**
 * The huge zero page shrinker as a reclaim actor: each pass is shrink_slab() calling
 * shrink_huge_zero_page() first with nr_to_scan == 0 (count) and then, if it reported
 * something freeable, again to scan. Anything may run between the two calls.
 */
export const hugeZeroShrinkerChart: TaskChartDef<S> = {
  id: 'huge_zero_page_shrinker',
  description: 'shrink_slab() → shrink_huge_zero_page(): count, then atomic_cmpxchg(1→0), xchg(pfn, 0), free',
  initial: 'count',
  states: {
    count: {
      meta: { kernel: 'shrink_huge_zero_page(nr_to_scan == 0): atomic_read(&huge_zero_refcount) == 1 ? HPAGE_PMD_NR : 0' },
      on: { STEP: { actions: 'shrinkerCount', target: 'counted' } },
    },
    counted: {
      always: [{ guard: 'shrinkerFreeable', target: 'scan' }, { target: 'passDone' }],
    },
    scan: {
      meta: { kernel: 'shrink_huge_zero_page: atomic_cmpxchg(&huge_zero_refcount, 1, 0) == 1' },
      on: {
        STEP: [
          { guard: 'hugeZeroRefcountIsOne', actions: 'shrinkerCmpxchgWon', target: 'xchgPfn' },
          { actions: 'shrinkerCmpxchgLost', target: 'passDone' },
        ],
      },
    },
    xchgPfn: {
      meta: { kernel: 'shrink_huge_zero_page: zero_pfn = xchg(&huge_zero_pfn, 0); BUG_ON(zero_pfn == 0)' },
      on: { STEP: { actions: 'shrinkerXchgPfn', target: 'free' } },
    },
    free: {
      meta: { kernel: 'shrink_huge_zero_page: __free_page(__pfn_to_page(zero_pfn))' },
      on: { STEP: { actions: 'shrinkerFreeZeroPage', target: 'passDone' } },
    },
    passDone: {
      always: [{ guard: 'morePasses', actions: 'nextPass', target: 'count' }, { target: 'done' }],
    },
    done: { type: 'final' },
  },
  guards: {
    shrinkerFreeable: (a) => a.l.freeable > 0,
    hugeZeroRefcountIsOne: (a) => a.k.huge_zero_refcount === 1,
    morePasses: (a) => a.l.passes > 1,
  },
  actions: {
    shrinkerCount: (a) => {
      a.l.freeable = a.k.huge_zero_refcount === 1 ? a.k.HPAGE_PMD_NR : 0;
      if (a.k.tracing) a.k.trace(a.ix, 'mm_shrink_slab_start', `shrink_huge_zero_page nr_to_scan=0 freeable=${a.l.freeable}`);
    },
    shrinkerCmpxchgWon: (a) => {
      a.k.atomic('huge_zero_refcount', 'atomic_cmpxchg', 0, a.ix);
      a.k.ref('drop', 'huge_zero_refcount', -1, 'shrinker', '', a.ix);
    },
    shrinkerCmpxchgLost: (a) => {
      if (a.k.tracing) a.k.trace(a.ix, 'huge_zero_page', `op=shrinker_cmpxchg_lost refcount=${a.k.huge_zero_refcount}`);
    },
    shrinkerXchgPfn: (a) => {
      a.l.zero_pfn = a.k.atomic('huge_zero_pfn', 'xchg', 0, a.ix);
      if (a.l.zero_pfn === 0) a.k.violate('huge-zero-shrinker', 'BUG_ON(zero_pfn == 0) in shrink_huge_zero_page');
      a.k.ref('move', 'page', a.l.zero_pfn, 'huge_zero_pfn', a.id, a.ix);
    },
    shrinkerFreeZeroPage: (a) => {
      freeHugeZeroPage(a, a.l.zero_pfn);
      if (a.k.tracing) a.k.trace(a.ix, 'huge_zero_page', `op=free pfn=0x${a.l.zero_pfn.toString(16)}`);
      a.l.zero_pfn = 0;
    },
    nextPass: (a) => {
      a.l.passes--;
      if (a.l.interval_ns > 0) a.wakeAt = a.k.now + a.l.interval_ns;
    },
  },
};
