/**
 * kcompactd's proactive compaction of a zone (mm/compaction.c, v6.x: proactive_compact_node
 * → compact_zone with cc.order = -1, MIGRATE_SYNC_LIGHT), as an actor kind from outside the
 * core: the migrate scanner walks the zone's pfns a pageblock (HPAGE_PMD_NR pfns) at a
 * time, isolate_migratepages_block isolating each page it can, and migrate_pages(...,
 * MR_COMPACTION) moves them — the model's one migrate_pages() definition, embedded with
 * compaction_alloc and compaction_free as its get_new_page and put_new_page.
 *
 * isolate_migratepages_block is modelled step by step, since collapse_shmem races every
 * one of them: the lockless PageCompound / PageLRU look, folio_get_nontail_page (a page
 * collapse froze at 0 refuses the reference — and while compaction holds one, collapse's
 * page_ref_freeze(page, 3) fails: SCAN_PAGE_COUNT), ISOLATE_ASYNC_MIGRATE's folio_trylock
 * of a dirty page to read its mapping (collapse's trylock_page then fails: SCAN_PAGE_LOCK),
 * folio_test_clear_lru (whoever clears PG_lru first isolates the page: the other sees
 * SCAN_DEL_PAGE_LRU, or gives its reference back). A failed check and the folio_put that
 * follows it are one step: the check writes nothing another CPU could see in between.
 *
 * What the model leaves out: the free scanner (compaction_alloc takes a page from the
 * model's allocator when cc->freepages is empty); the lru_lock held across a run of
 * isolated pfns (each isolation takes it alone, so other CPUs' isolate_lru_page may fall
 * between pfns the kernel would isolate under one hold); pageblock skip bits and
 * COMPACT_CLUSTER_MAX (a model's pageblock never has 32 pages). The pages isolated are
 * shmem page-cache pages only — the ones the model's migrate_pages() moves; any other
 * page is skipped as the kernel skips a page it cannot isolate.
 */
import {
  type Actor, type BoundedArray, type MigrateLocals, type TaskAction, type TaskChartDef, type TaskGuard,
  array, final, int, migrateActions, migrateLocalsFields, putbackMovablePages, migrateGuards, migratePagesStates, step, struct,
} from 'thpsim/extend';

export interface CompactionLocals extends MigrateLocals {
  /** compact_zone() runs still to make (kcompactd woken this many times). */
  passes: number;
  /** cc->migrate_pfn: the migrate scanner's next pfn (low_pfn). */
  cp_pfn: number;
  /** The zone's end as compact_zone() began: where the free scanner starts. */
  cp_end: number;
  /** The current pageblock's end (block_end_pfn). */
  cp_block_end: number;
  /** The page being isolated, holding folio_get_nontail_page()'s reference; -1 between pages. */
  cp_page: number;
  /** cc->migratepages: the pages isolated in this pageblock. */
  get cp_migratepages(): BoundedArray;
  set cp_migratepages(v: Iterable<number>);
  /** cc->freepages: free pages taken for migration and handed back by compaction_free. */
  get cp_freepages(): BoundedArray;
  set cp_freepages(v: Iterable<number>);
}
/** compact_zone's locals, laid out in the state vector (a pageblock is HPAGE_PMD_NR pages). */
export const compactionLocals = struct<CompactionLocals>('compact_zone', {
  ...migrateLocalsFields,
  passes: int(), cp_pfn: int(), cp_end: int(), cp_block_end: int(), cp_page: int(-1),
  cp_migratepages: array('HPAGE_PMD_NR: the pages of one pageblock', (b) => b.hpagePmdNr),
  cp_freepages: array('HPAGE_PMD_NR: the pages of one pageblock', (b) => b.hpagePmdNr),
});

export type C = Actor<CompactionLocals>;
const page = (a: C) => a.l.cp_page;

/** The call as compact_zone() makes it: the label of the embedded migrate_pages() state. */
export const MIGRATE_CALL = 'migrate_pages(&cc->migratepages, compaction_alloc, compaction_free, (unsigned long)cc, cc->mode, MR_COMPACTION, &nr_succeeded)';

/** isolate_migratepages_block(cc, low_pfn, block_end_pfn, ISOLATE_UNEVICTABLE | ISOLATE_ASYNC_MIGRATE): one pfn per pass of its loop. */
export function isolateMigratepagesBlockStates() {
  return {
    meta: { kernel: 'isolate_migratepages_block' },
    initial: 'next',
    states: {
      next: {
        always: [
          { guard: 'cpBlockDone', target: 'returned' },
          { target: 'pfn' },
        ],
      },
      pfn: step('isolate_migratepages_block: page = pfn_to_page(low_pfn); lockless: PageBuddy → isolate_fail; PageCompound → low_pfn += (1 << compound_order(page)) - 1, isolate_fail; !PageLRU → isolate_fail', [
        { guard: 'cpPageCompound', actions: 'cpSkipCompound', target: 'next' },
        { guard: 'cpPageLru', target: 'get' },
        { actions: 'cpNextPfn', target: 'next' },
      ]),
      get: step('isolate_migratepages_block: folio = folio_get_nontail_page(page) ("Be careful not to clear PageLRU until after we\'re sure the page is not being freed elsewhere"); !folio → isolate_fail', [
        { guard: 'cpGetNontail', actions: 'cpGet', target: 'checks' },
        { actions: 'cpNextPfn', target: 'next' },
      ]),
      checks: step('isolate_migratepages_block: mapping = folio_mapping(folio); (!mapping && pinned) or !folio_test_lru(folio) → isolate_fail_put: folio_put(folio); ISOLATE_ASYNC_MIGRATE && folio_test_dirty(folio): if (!folio_trylock(folio)) goto isolate_fail_put', [
        { guard: 'cpNotMigratable', actions: 'cpPutNext', target: 'next' },
        { guard: { and: ['cpDirty', 'cpUnlocked'] }, actions: 'cpTrylock', target: 'unlock' },
        { guard: 'cpDirty', actions: ['cpTrylockFailed', 'cpPutNext'], target: 'next' },
        { target: 'clear_lru' },
      ]),
      // shmem_aops has ->migrate_folio: migrate_dirty is true with or without a mapping
      unlock: step('isolate_migratepages_block: mapping = folio_mapping(folio); migrate_dirty = !mapping || mapping->a_ops->migrate_folio; folio_unlock(folio)', {
        actions: 'cpUnlock', target: 'clear_lru',
      }),
      // (a folio we hold a reference on cannot become large: the folio_test_large recheck never fires)
      clear_lru: step('isolate_migratepages_block: if (!folio_test_clear_lru(folio)) goto isolate_fail_put; compact_lock_irqsave(&lruvec->lru_lock); lruvec_del_folio; NR_ISOLATED_ANON + folio_is_file_lru(folio); list_add(&folio->lru, &cc->migratepages)', [
        { guard: 'cpOnLru', actions: 'cpIsolate', target: 'next' },
        { actions: 'cpPutNext', target: 'next' },
      ]),
      returned: final,
    },
  };
}

const guards: Record<string, TaskGuard<C>> = {
  cpZoneDone: (a) => a.l.cp_pfn >= a.l.cp_end,
  cpPassesLeft: (a) => a.l.passes > 0,
  cpBlockDone: (a) => a.l.cp_pfn >= a.l.cp_block_end,
  cpNoneIsolated: (a) => a.l.cp_migratepages.length === 0,
  cpLeftIsolated: (a) => a.l.mg_from.length > 0,
  cpPageCompound: (a) => {
    const k = a.k;
    const p = a.l.cp_pfn;
    return k.pages.isAllocated(p) && k.pages.order[k.pages.compoundHead(p)]! > 0;
  },
  cpPageLru: (a) => a.k.pages.isAllocated(a.l.cp_pfn) && a.k.pages.isOnLru(a.l.cp_pfn),
  // get_page_unless_zero on a page that is not a tail: a frozen or freed page refuses
  cpGetNontail: (a) => {
    const k = a.k;
    const p = a.l.cp_pfn;
    return k.pages.isAllocated(p) && k.pages.compoundHead(p) === p && k.pages.refcount[p]! > 0;
  },
  cpNotMigratable: (a) => {
    const k = a.k;
    const m = k.pages.mapping[page(a)]!;
    return m < 0 || !k.inodes[m]!.shmem || !k.pages.isOnLru(page(a));
  },
  cpDirty: (a) => a.k.pages.isDirty(page(a)),
  cpUnlocked: (a) => !a.k.pages.isLocked(page(a)),
  cpOnLru: (a) => a.k.pages.isOnLru(page(a)),
};

const actions: Record<string, TaskAction<C>> = {
  cpBegin: (a) => {
    a.l.passes--;
    a.l.cp_pfn = 0;
    a.l.cp_end = a.k.pages.nr;
  },
  cpBlockBegin: (a) => {
    const N = a.k.HPAGE_PMD_NR;
    a.l.cp_block_end = Math.min(a.l.cp_pfn - (a.l.cp_pfn % N) + N, a.l.cp_end);
  },
  cpNextPfn: (a) => { a.l.cp_pfn++; },
  cpSkipCompound: (a) => {
    const k = a.k;
    const p = a.l.cp_pfn;
    // compound_order() of a tail is 0: the scanner steps to the next pfn
    a.l.cp_pfn += k.pages.compoundHead(p) === p ? 1 << k.pages.order[p]! : 1;
  },
  cpGet: (a) => {
    a.l.cp_page = a.l.cp_pfn;
    a.k.pages.get(a.l.cp_page, a.ix, a.id);
  },
  // isolate_fail_put: folio_put(folio) — the last reference, if the page was freed meanwhile
  cpPutNext: (a) => {
    a.k.pages.put(page(a), a.ix, a.id);
    a.l.cp_page = -1;
    a.l.cp_pfn++;
  },
  cpTrylock: (a) => a.k.lockPage(page(a), a.ix, 'trylock_page'),
  cpTrylockFailed: (a) => a.k.trylockPageFailed(page(a), a.ix),
  cpUnlock: (a) => a.k.unlockPage(page(a), a.ix),
  cpIsolate: (a) => {
    const k = a.k;
    const p = page(a);
    k.pages.isolate(p, a.ix);
    // a shmem folio is swap-backed: !folio_is_file_lru
    k.count('nr_isolated_anon', 1, a.ix);
    a.l.cp_migratepages.push(p);
    k.bus.publish({ kind: 'migrate', op: 'isolate', pfn: p, newpfn: -1, reason: 'compaction', succeeded: 0, failed: 0, actor: a.ix });
    a.l.cp_page = -1;
    a.l.cp_pfn++;
  },
  cpMigrateBegin: (a) => {
    // migrate_pages works on cc->migratepages in place: what it leaves there is put back after
    Object.assign(a.l, {
      mg_from: a.l.cp_migratepages, cp_migratepages: [], mg_pass: 0, mg_retry: 1, mg_i: 0, mg_new: -1, mg_rc: '',
      mg_succeeded: 0, mg_failed: 0, mg_nr: 0, mg_ptes: [], mg_reason: 'compaction', mg_mode: 'MIGRATE_SYNC_LIGHT',
    });
  },
  cpPutback: (a) => {
    putbackMovablePages(a, a.l.mg_from, 'compaction');
    a.l.mg_from = [];
  },
  cpReleaseFreepages: (a) => {
    for (const p of a.l.cp_freepages) a.k.pages.put(p, a.ix, a.id);
    a.l.cp_freepages = [];
  },
  /** compaction_alloc(src, data): the next page of cc->freepages (the model's allocator standing in for isolate_freepages when it is empty). */
  mgGetNewPage: (a) => {
    a.l.mg_new = a.l.cp_freepages.length ? a.l.cp_freepages.pop()! : a.k.pages.alloc(0, false, a.ix, a.id);
  },
  /** compaction_free(dst, data): back onto cc->freepages, for the next page or release_freepages(). */
  mgPutNewPage: (a) => {
    a.l.cp_freepages.push(a.l.mg_new);
    a.l.mg_new = -1;
  },
};

/**
 * kcompactd0: compact_zone() over the whole zone, `passes` times. Each pageblock:
 * isolate_migratepages_block, then (if it isolated anything) migrate_pages and
 * putback_movable_pages for what it left; at the end release_freepages.
 */
export const compactionChart: TaskChartDef<C> = {
  id: 'compaction',
  description: 'kcompactd proactive compaction: compact_zone → isolate_migratepages_block → migrate_pages(MR_COMPACTION)',
  initial: 'wake',
  states: {
    // kcompactd(): woken `passes` times, each a proactive compaction of the zone
    wake: {
      always: [
        { guard: 'cpPassesLeft', target: 'compact_zone' },
        { target: 'done' },
      ],
    },
    compact_zone: {
      meta: { kernel: 'compact_zone(cc) (proactive_compact_node: cc.order = -1, MIGRATE_SYNC_LIGHT, whole_zone)' },
      initial: 'begin',
      states: {
        begin: step('compact_zone: cc->migrate_pfn = zone->zone_start_pfn; cc->free_pfn = the zone\'s last pageblock (the model\'s memory ends where its highest page is)', {
          actions: 'cpBegin', target: 'next_block',
        }),
        // compact_finished: with cc->order == -1 only the scanners meeting ends it
        next_block: {
          always: [
            { guard: 'cpZoneDone', target: 'release_freepages' },
            { actions: 'cpBlockBegin', target: 'isolate_migratepages' },
          ],
        },
        isolate_migratepages: { ...isolateMigratepagesBlockStates(), onDone: 'isolated' },
        isolated: {
          always: [
            // ISOLATE_NONE: on to the next pageblock
            { guard: 'cpNoneIsolated', target: 'next_block' },
            { actions: 'cpMigrateBegin', target: 'migrate' },
          ],
        },
        migrate: { ...migratePagesStates(MIGRATE_CALL), onDone: 'migrated' },
        migrated: {
          always: [
            { guard: 'cpLeftIsolated', target: 'putback' },
            { target: 'next_block' },
          ],
        },
        putback: step('compact_zone: if (err) putback_movable_pages(&cc->migratepages)', {
          actions: 'cpPutback', target: 'next_block',
        }),
        release_freepages: step('compact_zone out: release_freepages(&cc->freepages)', {
          actions: 'cpReleaseFreepages', target: 'returned',
        }),
        returned: final,
      },
      onDone: 'wake',
    },
    done: final,
  },
  guards: { ...(migrateGuards as Record<string, TaskGuard<C>>), ...guards },
  actions: { ...(migrateActions as Record<string, TaskAction<C>>), ...actions },
};
