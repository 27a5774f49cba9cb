/**
 * PG_writeback on file pages, from outside the core (thpsim/extend only):
 *
 *  - the page flag, as a region of the page chart: set_page_writeback() on a locked page,
 *    end_page_writeback() when the I/O completes; free_pages_check() refuses a page under
 *    writeback (PAGE_FLAGS_CHECK_AT_FREE includes PG_writeback);
 *  - the flusher that sets it, as an actor kind `writeback`: write_cache_pages() on the
 *    dirty pages it is given, each kernel step its own atomic step;
 *  - the fix, as a variant of collapse_shmem (the model's collapse_file): mainline refuses
 *    a page under writeback with SCAN_FAIL. As seed 000 posted it, collapse copies and frees
 *    a page the I/O still reads: the FREE is illegal, and the page-chart invariant says so
 *    (writeback-as-posted.yaml, and its replay file).
 */
import {
  type Actor, type CollapseLocals, type FunctionPatch, type GuardConjunct, type ObjectChartExtension, type StateDef, type TaskChartDef,
  extendObjectChart, final, pageAddress, registerActorKind, registerVariant, step, transitionList, z,
} from 'thpsim/extend';

// ---- the page flag --------------------------------------------------------------------

/** free_pages_check(): a page is not freed while PG_writeback is set (PAGE_FLAGS_CHECK_AT_FREE). */
const freeNotUnderWriteback: GuardConjunct = { state: 'alloc.allocated', event: 'FREE', guard: { in: 'writeback.clear' } };

export const pgWriteback: ObjectChartExtension = {
  name: 'PG_writeback',
  events: ['SET_WRITEBACK', 'END_WRITEBACK'],
  regions: {
    writeback: {
      initial: 'clear',
      description: 'PG_writeback: the page is being written to its backing store (set_page_writeback / end_page_writeback)',
      states: {
        // __folio_start_writeback: the folio is locked (write_cache_pages holds it), and
        // VM_BUG_ON_FOLIO(folio_test_writeback(folio)): set only on a page not already under writeback
        clear: { on: { SET_WRITEBACK: { target: 'writeback', guard: { and: [{ in: 'alloc.allocated' }, { in: 'lock.locked' }] } } } },
        // folio_end_writeback: "if (!__folio_end_writeback(folio)) BUG()" — only a page under writeback
        writeback: { on: { END_WRITEBACK: 'clear' } },
      },
    },
  },
  guards: [freeNotUnderWriteback],
};

extendObjectChart('page', pgWriteback);

// ---- the flusher: write_cache_pages → ->writepage, then the I/O's completion ----------

export interface WritebackLocals {
  /** The pages still to write, as [inode id, index] pairs, in order. */
  wb_targets: number[];
  /** The page found (its head), with the lookup's reference; -1 for none. */
  wb_page: number;
}

type W = Actor<WritebackLocals>;
const wbIno = (a: W) => a.k.inodes[a.l.wb_targets[0]!]!;
const wbIndex = (a: W) => a.l.wb_targets[1]!;
const wbSlot = (a: W) => wbIno(a).mapping.lookup(wbIndex(a));
const UNDER_WRITEBACK = 'writeback.writeback';

/** write_cache_pages() (mm/page-writeback.c, WB_SYNC_NONE) for one dirty page, and end_page_writeback() once its bio completes. */
function writeCachePages(): StateDef {
  return {
    meta: { kernel: 'write_cache_pages' },
    initial: 'lookup',
    states: {
      // (the model keeps PG_dirty, not the PAGECACHE_TAG_DIRTY that mirrors it: the lookup reads the flag)
      lookup: step('write_cache_pages: pagevec_lookup_range_tag(PAGECACHE_TAG_DIRTY) → page_cache_get_speculative(page)', [
        { guard: 'wbNoDirtyPage', actions: 'wbNextTarget', target: 'returned' },
        // find_get_entry's "goto repeat" while the speculative get fails on a frozen page: the guard waits
        { guard: 'wbSlotNotFrozen', actions: 'wbGetPage', target: 'lock_page' },
      ], { spins: 'page_frozen' }),
      lock_page: step('write_cache_pages: lock_page(page)', { guard: 'wbPageUnlocked', actions: 'wbLockPage', target: 'check' }, { sleeps: 'lock_page' }),
      check: {
        always: [
          // "if (unlikely(page->mapping != mapping)) goto continue_unlock; if (!PageDirty(page)) goto continue_unlock;"
          // "if (PageWriteback(page)) { if (wbc->sync_mode != WB_SYNC_NONE) wait_on_page_writeback(page); else goto continue_unlock; }"
          { guard: { or: ['wbPageTruncated', { not: 'wbPageDirty' }, 'wbPageUnderWriteback'] }, target: 'continue_unlock' },
          { target: 'clear_dirty' },
        ],
      },
      continue_unlock: step('write_cache_pages: continue_unlock: unlock_page(page); pagevec_release → put_page(page)', {
        actions: ['wbUnlockPage', 'wbPutPage', 'wbNextTarget'], target: 'returned',
      }),
      clear_dirty: step('write_cache_pages: clear_page_dirty_for_io(page)', { actions: 'wbClearDirty', target: 'set_writeback' }),
      // __test_set_page_writeback sets the flag under the tree lock (and moves the tags, not modelled)
      set_writeback: step('->writepage: set_page_writeback(page): xa_lock_irqsave(&mapping->i_pages); TestSetPageWriteback', {
        guard: 'wbTreeFree', actions: 'wbSetWriteback', target: 'unlock',
      }),
      unlock: step('->writepage: submit_bio(REQ_OP_WRITE); unlock_page(page)', { actions: 'wbUnlockPage', target: 'release' }),
      // the bio holds no page reference: PG_writeback alone keeps reclaim, truncation and migration away
      release: step('write_cache_pages: pagevec_release → put_page(page)', { actions: 'wbPutPage', target: 'end_io' }),
      end_io: step('end_page_writeback(page) (bio end_io): test_clear_page_writeback: xa_lock_irqsave(&mapping->i_pages); TestClearPageWriteback', {
        guard: 'wbTreeFree', actions: ['wbEndWriteback', 'wbNextTarget'], target: 'returned',
      }),
      returned: final,
    },
  };
}

export const writebackChart: TaskChartDef<W> = {
  id: 'writeback',
  initial: 'next',
  states: {
    next: { always: [{ guard: 'wbDone', target: 'done' }, { target: 'write_cache_pages' }] },
    write_cache_pages: { ...writeCachePages(), onDone: 'next' },
    done: final,
  },
  guards: {
    wbDone: (a) => a.l.wb_targets.length === 0,
    wbNoDirtyPage: (a) => wbSlot(a) < 0 || !a.k.pages.isDirty(a.k.pages.compoundHead(wbSlot(a))),
    wbSlotNotFrozen: (a) => a.k.pages.pageCount(wbSlot(a)) > 0,
    wbPageUnlocked: (a) => !a.k.pages.isLocked(a.l.wb_page),
    wbPageTruncated: (a) => a.k.pages.mapping[a.l.wb_page] !== wbIno(a).id,
    wbPageDirty: (a) => a.k.pages.isDirty(a.l.wb_page),
    wbPageUnderWriteback: (a) => a.k.pages.inState(a.l.wb_page, UNDER_WRITEBACK),
    wbTreeFree: (a) => wbIno(a).mapping.treeLock.free,
  },
  actions: {
    wbNextTarget: (a) => {
      a.l.wb_targets.splice(0, 2);
      a.l.wb_page = -1;
    },
    wbGetPage: (a) => {
      const head = a.k.pages.compoundHead(wbSlot(a));
      a.k.pages.get(head, a.ix, a.id);
      a.l.wb_page = head;
    },
    wbLockPage: (a) => a.k.lockPage(a.l.wb_page, a.ix),
    wbUnlockPage: (a) => a.k.unlockPage(a.l.wb_page, a.ix),
    wbPutPage: (a) => void a.k.pages.put(a.l.wb_page, a.ix, a.id),
    wbClearDirty: (a) => a.k.pages.clearDirty(a.l.wb_page, a.ix),
    wbSetWriteback: (a) => {
      const k = a.k;
      const m = wbIno(a).mapping;
      k.spinLock(m.treeLock, a.ix);
      k.pages.command(a.l.wb_page, 'SET_WRITEBACK', a.ix);
      k.spinUnlock(m.treeLock, a.ix);
    },
    wbEndWriteback: (a) => {
      const k = a.k;
      const m = wbIno(a).mapping;
      k.spinLock(m.treeLock, a.ix);
      k.pages.command(a.l.wb_page, 'END_WRITEBACK', a.ix);
      k.spinUnlock(m.treeLock, a.ix);
    },
  },
};

const writebackSpec = z.strictObject({
  id: z.string().min(1),
  /** The dirty pages to write back, in order: a file and a byte offset in it. */
  targets: z.array(z.strictObject({ file: z.string(), offset: pageAddress })).min(1),
});
type WritebackSpec = z.output<typeof writebackSpec>;

registerActorKind({
  kind: 'writeback',
  description: 'the flusher writing dirty file pages back: write_cache_pages → set_page_writeback, then end_page_writeback when the I/O completes',
  comm: 'kworker/u8:0',
  chart: writebackChart,
  schema: writebackSpec as unknown as z.ZodType<WritebackSpec>,
  locals: (spec: WritebackSpec, k): WritebackLocals => ({
    wb_targets: spec.targets.flatMap((t) => [k.inodeByName(t.file)!.id, t.offset]),
    wb_page: -1,
  }),
});

// ---- the fix: collapse_file refuses a page under writeback ----------------------------

type C = Actor<CollapseLocals>;
const csIno = (a: C) => a.k.inodes[a.l.sc_ino]!;

/**
 * mainline collapse_file(), for a regular file (!is_shmem), in the xa_lock'ed walk before
 * trylock_page: "} else if (folio_test_writeback(folio)) { xas_unlock_irq(&xas); result =
 * SCAN_FAIL; goto xa_unlocked; }". The slot's step reads the flag with the tree lock held,
 * the way out is a step of its own. Mainline tests it again once the page is locked (with
 * PG_dirty: "if (!is_shmem && (folio_test_dirty(folio) || folio_test_writeback(folio)))");
 * for PG_writeback that test cannot fire — set_page_writeback needs both the page lock and
 * the tree lock, and the walk holds the tree lock from this test to trylock_page — so it is
 * left out, with the dirty half, which pairs with the walk's filemap_flush() (not modelled:
 * collapse_shmem carries PG_dirty over to new_page). hpage_collapse_scan_file() has no
 * writeback test: the scan passes the page.
 */
const collapseFileWriteback: FunctionPatch = {
  patch: (states) => ({
    ...states,
    slot: {
      ...states.slot!,
      on: { STEP: [{ guard: { and: ['csRegularFile', 'csSlotWriteback'] }, target: 'writeback' }, ...transitionList(states.slot!.on!.STEP)] },
    },
    writeback: step('collapse_file: } else if (folio_test_writeback(folio)) { xas_unlock_irq(&xas); result = SCAN_FAIL; goto xa_unlocked; }', {
      actions: ['csUnlockTree', 'csFail'], target: 'tree_unlocked',
    }),
  }),
  guards: {
    csSlotWriteback: (a: C) => {
      const v = csIno(a).mapping.lookup(a.l.cs_index);
      return v >= 0 && a.k.pages.inState(a.k.pages.compoundHead(v), UNDER_WRITEBACK);
    },
  },
};

registerVariant({
  name: 'collapse_file_writeback_check',
  kind: 'fix',
  description: 'collapse_file() gives up with SCAN_FAIL on a regular file\'s page under writeback (the walk\'s test before trylock_page)',
  functions: { collapse_shmem: collapseFileWriteback },
});
