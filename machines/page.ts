/**
 * struct page as a statechart. The regions are the page states the seeds reason
 * about: whether the page is allocated at all, PG_locked, a refcount frozen to zero by
 * page_ref_freeze(), PG_lru (isolated = off the LRU), PG_uptodate, PG_dirty, and
 * whether any page table maps it (page_mapcount() > 0). Counts themselves (refcount,
 * mapcount) live in the memory model; this chart says which commands are legal in
 * which state. Anything not listed is illegal: e.g. UNLOCK in `lock.unlocked`
 * (unlock_page of an unlocked page: VM_BUG_ON_PAGE(!PageLocked)), GET in `ref.frozen`
 * (a reference taken on a frozen page), FREE in `mapped.mapped` (freeing a mapped page:
 * "Bad page state").
 */
import type { ObjectChartDef } from '../src/engine/object_chart.ts';

export const PAGE_EVENTS = [
  'ALLOC', 'FREE',
  'LOCK', 'UNLOCK',
  'FREEZE', 'UNFREEZE', 'GET', 'PUT',
  'LRU_ADD', 'ISOLATE',
  'SET_UPTODATE', 'CLEAR_UPTODATE',
  'SET_DIRTY', 'CLEAR_DIRTY',
  'MAP_FIRST', 'MAP', 'UNMAP', 'UNMAP_LAST',
] as const;
export type PageEvent = (typeof PAGE_EVENTS)[number];

const allocated = { in: 'alloc.allocated' } as const;
const live = { in: 'ref.live' } as const;

export const pageChart: ObjectChartDef<PageEvent> = {
  id: 'page',
  description: 'struct page: allocation, PG_locked, frozen refcount, PG_lru, PG_uptodate, PG_dirty, mapped',
  events: PAGE_EVENTS,
  regions: {
    alloc: {
      initial: 'free',
      description: 'in the buddy allocator, or allocated (alloc_pages / __free_pages)',
      states: {
        free: { on: { ALLOC: 'allocated' } },
        allocated: {
          on: {
            // free_pages_check(): a page is freed unmapped, unlocked, with a live
            // (zero, not frozen) count, and off the LRU.
            FREE: {
              target: 'free',
              guard: { and: [{ in: 'mapped.unmapped' }, { in: 'lock.unlocked' }, live, { in: 'lru.isolated' }] },
            },
          },
        },
      },
    },
    lock: {
      initial: 'unlocked',
      description: 'PG_locked (lock_page / trylock_page / unlock_page)',
      states: {
        unlocked: { on: { LOCK: { target: 'locked', guard: allocated } } },
        locked: { on: { UNLOCK: 'unlocked' } },
      },
    },
    ref: {
      initial: 'live',
      description: 'page_ref_freeze() sets the count to 0 until page_ref_unfreeze()',
      states: {
        live: {
          on: {
            FREEZE: { target: 'frozen', guard: allocated },
            GET: { guard: allocated },
            PUT: { guard: allocated },
          },
        },
        frozen: { on: { UNFREEZE: 'live' } },
      },
    },
    lru: {
      initial: 'isolated',
      description: 'PG_lru: on an LRU list, or isolated from it (isolate_lru_page)',
      states: {
        isolated: { on: { LRU_ADD: { target: 'on_lru', guard: { and: [allocated, live] } } } },
        on_lru: { on: { ISOLATE: 'isolated' } },
      },
    },
    uptodate: {
      initial: 'not_uptodate',
      description: 'PG_uptodate',
      states: {
        not_uptodate: {
          on: { SET_UPTODATE: { target: 'uptodate', guard: allocated }, CLEAR_UPTODATE: {} },
        },
        uptodate: { on: { CLEAR_UPTODATE: 'not_uptodate', SET_UPTODATE: { guard: allocated } } },
      },
    },
    dirty: {
      initial: 'clean',
      description: 'PG_dirty',
      states: {
        clean: { on: { SET_DIRTY: { target: 'dirty', guard: allocated }, CLEAR_DIRTY: {} } },
        dirty: { on: { CLEAR_DIRTY: 'clean', SET_DIRTY: {} } },
      },
    },
    mapped: {
      initial: 'unmapped',
      description: 'page_mapcount() > 0: some page table maps it',
      states: {
        unmapped: { on: { MAP_FIRST: { target: 'mapped', guard: { and: [allocated, live] } } } },
        mapped: {
          on: {
            MAP: { guard: live },
            UNMAP: {},
            UNMAP_LAST: 'unmapped',
          },
        },
      },
    },
  },
};
