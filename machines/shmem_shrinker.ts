/**
 * The huge tmpfs huge-hole shrinker (seed 001; the series' patch 06, with patch 24's
 * disband): reclaim's shrink_slab() calling shmem_shrink_hugehole(). shmem_choose_hugehole
 * walks shmem_shrinklist under shmem_shrinklist_lock — an inode whose tree has no
 * SHMEM_TAG_HUGEHOLE left is taken off the list — and, through shmem_get_hugehole, picks
 * the partly filled team with the most free holes ("Choose to migrate from page with least
 * in use"; none can have more than HPAGE_PMD_NR-1: "No point searching further"), looking
 * only at the older half of the list. It disbands that team's head under the mapping's
 * tree lock, still holding shmem_shrinklist_lock (which keeps head->mapping safe from
 * eviction), then drops it and runs shmem_disband_hugetails(frompage, fromlist, -fromused):
 * a head never instantiated is freed, every instantiated page isolated from its LRU onto
 * the fromlist, tails lose PageTeam, holes are freed. Each page is its own step: another
 * CPU may run between them, and each isolate_lru_page may fail (injection point
 * 'isolate_lru_page'), leaving that page where it is.
 *
 * Each pass is one call of the scan (shrink_slab's do_shrink_slab asks count_objects —
 * NR_SHMEM_FREEHOLES, 0 once the list is empty — first; the model calls the scan anyway, as
 * shmem_alloc_page's direct call does, and it returns SHRINK_STOP on an empty list).
 *
 * Not modelled: the second walk for a to-team (the most occupied team with enough free
 * holes for the from-team's pages, disbanded the same way) and migrate_pages(fromlist,
 * shmem_get_migrate_page, ..., MR_SHMEM_HUGEHOLE) into its holes. Each pass does what the
 * kernel does when no other team has room for the from-team's pages (or fromused >
 * HPAGE_PMD_NR/2): putback_movable_pages(&fromlist), the freed holes its result. Nor is
 * patch 13's LRU weight (head_lru_weight, shmem_evictify_hugetails).
 */
import { type BoundedArray, array, int, struct } from '../src/vector/struct.ts';
import { final, step } from '../src/engine/chart.ts';
import type { TaskChartDef } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Inode } from '../src/memory/address_space.ts';
import { PageSwapBacked, PageTeam, shmemDisbandHugehead, shmemFreeholes, shrinklist, teamHead, teamMember } from '../src/memory/team.ts';

export interface ShrinkHugeholeLocals {
  /** shrink_slab() passes left to run. */
  passes: number;
  /** shmem_choose_hugehole's walk: the inode (id) on shmem_shrinklist, and shmem_get_hugehole's index in it. */
  sh_ino: number;
  sh_index: number;
  /** "Only reclaim from the older half of the shrinklist" (unsigned: -3 + 2 wraps to ULONG_MAX). */
  sh_double_depth: number;
  /** What shmem_get_hugehole returned (a referenced team head), -1 for NULL. */
  sh_page: number;
  /** frompage (referenced), and the inode head->mapping named when its tree lock was taken. */
  sh_frompage: number;
  sh_mapping: number;
  /** fromused: shmem_disband_hugehead(frompage), -1 for -EALREADY. */
  sh_fromused: number;
  /** shmem_disband_hugetails' cursor over the team's pages, and the pages it isolated (nr - orig_nr). */
  sh_tail: number;
  sh_isolated: number;
  /** LIST_HEAD(fromlist): the isolated pages. */
  get sh_fromlist(): BoundedArray;
  set sh_fromlist(v: Iterable<number>);
  /** The holes this pass freed (shmem_choose_hugehole's freed), and every pass's, SHRINK_STOP or not. */
  sh_freed: number;
  sh_freed_total: number;
}
export const shrinkHugeholeLocals = struct<ShrinkHugeholeLocals>('shmem_shrink_hugehole', {
  passes: int(), sh_ino: int(-1), sh_index: int(), sh_double_depth: int(), sh_page: int(-1), sh_frompage: int(-1), sh_mapping: int(-1),
  sh_fromused: int(-1), sh_tail: int(-1), sh_isolated: int(), sh_fromlist: array('HPAGE_PMD_NR: the pages of one team', (b) => b.hpagePmdNr), sh_freed: int(), sh_freed_total: int(),
});

type S = Actor<ShrinkHugeholeLocals>;
const N = (a: S) => a.k.HPAGE_PMD_NR;

/** The inodes on shmem_shrinklist, in list order (the model adds them in inode order). */
const onShrinklist = (a: S): Inode[] => a.k.inodes.filter((i) => i.shrinklist);
const nextOnList = (a: S): Inode | undefined => a.k.inodes.find((i) => i.id > a.l.sh_ino && i.shrinklist);

/**
 * shmem_get_hugehole(mapping, &index), under rcu_read_lock: the HUGEHOLE-tagged entries
 * from *index, each speculatively referenced, must be PageTeam of this mapping, as must
 * their team_head(); the first head with free holes is returned (its reference kept, the
 * others' dropped) and *index moved past its extent. -1 when none is left. (A tagged team
 * page is never frozen — migration refuses PageTeam pages — so no speculative get fails.)
 */
function shmemGetHugehole(a: S, ino: Inode): number {
  const k = a.k;
  const m = ino.mapping;
  for (let i = m.firstTagged(a.l.sh_index, m.nrTagged, 'hugehole'); i >= 0; i = m.firstTagged(i + 1, m.nrTagged, 'hugehole')) {
    const page = m.lookup(i);
    if (page < 0 || k.pages.refcount[page] === 0) continue; // radix_tree_exception; page_cache_get_speculative failed
    if (!PageTeam(k, page) || k.pages.mapping[page] !== ino.id) continue;
    const head = teamHead(k, page);
    if (k.pages.refcount[head] === 0 || !PageTeam(k, head) || k.pages.mapping[head] !== ino.id) continue;
    if (shmemFreeholes(k, head) > 0) {
      a.l.sh_index = k.pages.index[head]! + k.HPAGE_PMD_NR;
      return head;
    }
  }
  return -1;
}

export const shmemShrinkHugeholeChart: TaskChartDef<S> = {
  id: 'shmem_shrink_hugehole',
  description: 'shrink_slab() → shmem_shrink_hugehole(): shmem_choose_hugehole disbands the team with the most free holes, isolates its pages, frees its holes; putback_movable_pages',
  initial: 'shrinklist_empty',
  states: {
    shrinklist_empty: step('shmem_shrink_hugehole: if (list_empty(&shmem_shrinklist)) return SHRINK_STOP', [
      { guard: 'shShrinklistEmpty', actions: 'shShrinkStop', target: 'pass_done' },
      { actions: 'shChooseBegin', target: 'choose' },
    ]),
    choose: {
      meta: { kernel: 'shmem_choose_hugehole(&fromlist, &tolist)' },
      initial: 'shrinklist_lock',
      onDone: [
        { guard: 'shFromlistEmpty', actions: 'shShrinkStop', target: 'pass_done' },
        { target: 'putback' },
      ],
      states: {
        shrinklist_lock: step('shmem_choose_hugehole: double_depth = 0; spin_lock(&shmem_shrinklist_lock)', {
          guard: 'shShrinklistLockFree', actions: 'shLockShrinklist', target: 'list_next',
        }),
        // list_for_each_safe(this, next, &shmem_shrinklist)
        list_next: {
          always: [
            { guard: 'shListEnd', target: 'chosen' },
            { actions: 'shNextInode', target: 'radix_tree_tagged' },
          ],
        },
        radix_tree_tagged: step('if (!radix_tree_tagged(&mapping->page_tree, SHMEM_TAG_HUGEHOLE)) { list_del_init(&info->shrinklist); shmem_shrinklist_depth--; continue } index = 0', [
          { guard: 'shInodeTagged', target: 'get_hugehole' },
          { actions: 'shListDel', target: 'list_next' },
        ]),
        get_hugehole: step('while ((page = shmem_get_hugehole(mapping, &index)))', {
          actions: 'shGetHugehole', target: 'least_in_use',
        }),
        // "Choose to migrate from page with least in use"
        least_in_use: {
          always: [
            { guard: 'shNoHugehole', target: 'older_half' },
            // "No point searching further": double_depth = -3; break
            { guard: { and: ['shMoreFreeholes', 'shAllButOneFree'] }, actions: ['shTakeFrompage', 'shNoPointFurther'], target: 'older_half' },
            { guard: 'shMoreFreeholes', actions: 'shTakeFrompage', target: 'get_hugehole' },
            { actions: 'shPutPage', target: 'get_hugehole' },
          ],
        },
        // "Only reclaim from the older half of the shrinklist"
        older_half: {
          always: [
            { guard: 'shOlderHalfDone', actions: 'shDoubleDepth', target: 'chosen' },
            { actions: 'shDoubleDepth', target: 'list_next' },
          ],
        },
        chosen: {
          always: [
            { guard: 'shNoFrompage', target: 'unlock' },
            { target: 'tree_lock' },
          ],
        },
        unlock: step('if (!frompage) goto unlock; unlock: spin_unlock(&shmem_shrinklist_lock); return freed', {
          actions: 'shUnlockShrinklist', target: 'returned',
        }),
        tree_lock: step('fromused = shmem_disband_hugehead(frompage): mapping = READ_ONCE(head->mapping); if (!mapping) return -EALREADY; spin_lock_irq(&mapping->tree_lock)', [
          { guard: 'shFromNoMapping', actions: 'shEalready', target: 'shrinklist_unlock' },
          { guard: 'shTreeLockFree', actions: 'shLockTree', target: 'disband_hugehead' },
        ]),
        disband_hugehead: step('shmem_disband_hugehead: if (PageTeam(head)) { nr = team_usage / TEAM_PAGE_COUNTER; team_usage = TEAM_LRU_WEIGHT_ONE; ClearPageTeam(head); if (!PageSwapBacked(head)) head->mapping = NULL; complete: NR_SHMEM_HUGEPAGES--; partial: shmem_clear_tag_hugehole, NR_SHMEM_FREEHOLES += nr - HPAGE_PMD_NR } spin_unlock_irq', {
          actions: 'shDisbandHugehead', target: 'shrinklist_unlock',
        }),
        shrinklist_unlock: step('spin_unlock(&shmem_shrinklist_lock); if (fromused > 0) shmem_disband_hugetails(frompage, fromlist, -fromused)', [
          { guard: 'shFromused', actions: ['shUnlockShrinklist', 'shTailsBegin'], target: 'hugetails' },
          { actions: 'shUnlockShrinklist', target: 'put_frompage' },
        ]),
        hugetails: step('shmem_disband_hugetails(nr < 0): head not in cache: put_page_testzero → free; instantiated (head PageSwapBacked, tail PageTeam): if (isolate_lru_page(page) == 0) { list_add_tail(&page->lru, list); nr++ }; tail: ClearPageTeam; hole: put_page_testzero → free', [
          { guard: { and: ['shTailIsolatable', { not: 'injectedFailure' }] }, actions: ['shTailIsolate', 'shTailNext'], target: 'hugetails_next' },
          { actions: ['shTailNotIsolated', 'shTailNext'], target: 'hugetails_next' },
        ], { inject: 'isolate_lru_page' }),
        hugetails_next: {
          always: [
            // "Yes, shmem counts in NR_ISOLATED_ANON but NR_FILE_PAGES": mod_zone_page_state(zone, NR_ISOLATED_ANON, nr - orig_nr)
            { guard: 'shTailsDone', actions: 'shModIsolated', target: 'put_frompage' },
            { target: 'hugetails' },
          ],
        },
        put_frompage: step('put_page(frompage); if (fromused <= 0) return 0; freed = HPAGE_PMD_NR - fromused (no to-team: the search and MR_SHMEM_HUGEHOLE migration are not modelled)', {
          actions: 'shPutFrompage', target: 'returned',
        }),
        returned: final,
      },
    },
    putback: step('shmem_shrink_hugehole: putback_movable_pages(&fromlist) ("if any were left behind"); return freed', {
      actions: 'shPutback', target: 'pass_done',
    }),
    pass_done: {
      always: [
        { guard: 'shMorePasses', actions: 'shNextPass', target: 'shrinklist_empty' },
        { target: 'done' },
      ],
    },
    done: final,
  },
  guards: {
    injectedFailure: (_a, ev) => ev.fail === true,
    shShrinklistEmpty: (a) => onShrinklist(a).length === 0,
    shShrinklistLockFree: (a) => a.k.shmemShrinklistLock.free,
    shListEnd: (a) => nextOnList(a) === undefined,
    shInodeTagged: (a) => {
      const m = a.k.inodes[a.l.sh_ino]!.mapping;
      return m.firstTagged(0, m.nrTagged, 'hugehole') >= 0;
    },
    shNoHugehole: (a) => a.l.sh_page < 0,
    shMoreFreeholes: (a) => a.l.sh_frompage < 0 || shmemFreeholes(a.k, a.l.sh_page) > shmemFreeholes(a.k, a.l.sh_frompage),
    shAllButOneFree: (a) => shmemFreeholes(a.k, a.l.sh_page) === N(a) - 1,
    shOlderHalfDone: (a) => {
      const dd = a.l.sh_double_depth + 2;
      return dd < 0 || dd >= Math.min(onShrinklist(a).length, 2000);
    },
    shNoFrompage: (a) => a.l.sh_frompage < 0,
    shFromNoMapping: (a) => a.k.pages.mapping[a.l.sh_frompage]! < 0,
    shTreeLockFree: (a) => a.k.inodes[a.k.pages.mapping[a.l.sh_frompage]!]!.mapping.treeLock.free,
    shFromused: (a) => a.l.sh_fromused > 0,
    shTailIsolatable: (a) => {
      const k = a.k;
      const p = a.l.sh_tail;
      const instantiated = p === a.l.sh_frompage ? PageSwapBacked(k, p) : PageTeam(k, p);
      return instantiated && k.pages.isOnLru(p);
    },
    shTailsDone: (a) => a.l.sh_tail >= a.l.sh_frompage + N(a),
    shFromlistEmpty: (a) => a.l.sh_fromlist.length === 0,
    shMorePasses: (a) => a.l.passes > 1,
  },
  actions: {
    shShrinkStop: (a) => {
      a.results.push('shmem_shrink_hugehole() = SHRINK_STOP');
    },
    shChooseBegin: (a) => {
      a.l.sh_ino = -1;
      a.l.sh_double_depth = 0;
      a.l.sh_page = -1;
      a.l.sh_frompage = -1;
      a.l.sh_mapping = -1;
      a.l.sh_fromused = -1;
      a.l.sh_freed = 0;
      a.l.sh_fromlist = [];
    },
    shLockShrinklist: (a) => a.k.spinLock(a.k.shmemShrinklistLock, a.ix),
    shUnlockShrinklist: (a) => a.k.spinUnlock(a.k.shmemShrinklistLock, a.ix),
    shNextInode: (a) => {
      a.l.sh_ino = nextOnList(a)!.id;
      a.l.sh_index = 0;
    },
    shListDel: (a) => shrinklist(a.k, a.k.inodes[a.l.sh_ino]!, false, a.ix),
    shGetHugehole: (a) => {
      const head = shmemGetHugehole(a, a.k.inodes[a.l.sh_ino]!);
      if (head >= 0) a.k.pages.get(head, a.ix, a.id); // page_cache_get_speculative: the reference returned
      a.l.sh_page = head;
    },
    shTakeFrompage: (a) => {
      if (a.l.sh_frompage >= 0) a.k.pages.put(a.l.sh_frompage, a.ix, a.id);
      a.l.sh_frompage = a.l.sh_page;
      a.l.sh_page = -1;
    },
    shNoPointFurther: (a) => {
      a.l.sh_double_depth = -3;
    },
    shPutPage: (a) => {
      a.k.pages.put(a.l.sh_page, a.ix, a.id);
      a.l.sh_page = -1;
    },
    shDoubleDepth: (a) => {
      a.l.sh_double_depth += 2;
    },
    shEalready: (a) => {
      a.l.sh_fromused = -1;
    },
    shLockTree: (a) => {
      a.l.sh_mapping = a.k.pages.mapping[a.l.sh_frompage]!;
      a.k.spinLock(a.k.inodes[a.l.sh_mapping]!.mapping.treeLock, a.ix);
    },
    shDisbandHugehead: (a) => {
      const inode = a.k.inodes[a.l.sh_mapping]!;
      a.l.sh_fromused = shmemDisbandHugehead(a.k, inode, a.l.sh_frompage, a.ix);
      a.k.spinUnlock(inode.mapping.treeLock, a.ix);
    },
    shTailsBegin: (a) => {
      a.l.sh_tail = a.l.sh_frompage;
      a.l.sh_isolated = 0;
    },
    /** isolate_lru_page(page) == 0: off its LRU with a reference, onto the fromlist; a tail loses PageTeam. */
    shTailIsolate: (a) => {
      const k = a.k;
      const p = a.l.sh_tail;
      k.pages.isolate(p, a.ix);
      k.pages.get(p, a.ix, a.id);
      a.l.sh_fromlist.push(p);
      a.l.sh_isolated++;
      k.bus.publish({ kind: 'migrate', op: 'isolate', pfn: p, newpfn: -1, reason: 'shmem_hugehole', succeeded: 0, failed: 0, actor: a.ix });
      if (p !== a.l.sh_frompage) teamMember(k, p, false, a.ix);
    },
    /** A head never instantiated, or a hole: put_page_testzero → free_hot_cold_page (the split reference); a tail not isolated still loses PageTeam. */
    shTailNotIsolated: (a) => {
      const k = a.k;
      const p = a.l.sh_tail;
      if (p === a.l.sh_frompage) {
        if (!PageSwapBacked(k, p)) k.pages.put(p, a.ix, 'team');
      } else if (PageTeam(k, p)) teamMember(k, p, false, a.ix);
      else k.pages.put(p, a.ix, 'team');
    },
    shTailNext: (a) => {
      a.l.sh_tail++;
    },
    shModIsolated: (a) => {
      if (a.l.sh_isolated) a.k.count('nr_isolated_anon', a.l.sh_isolated, a.ix);
    },
    shPutFrompage: (a) => {
      a.k.pages.put(a.l.sh_frompage, a.ix, a.id);
      a.l.sh_freed = a.l.sh_fromused > 0 ? N(a) - a.l.sh_fromused : 0;
      a.l.sh_freed_total += a.l.sh_freed;
      a.l.sh_frompage = -1;
    },
    shPutback: (a) => {
      const k = a.k;
      for (const p of a.l.sh_fromlist) {
        k.count('nr_isolated_anon', -1, a.ix);
        k.bus.publish({ kind: 'migrate', op: 'putback', pfn: p, newpfn: -1, reason: 'shmem_hugehole', succeeded: 0, failed: 0, actor: a.ix });
        k.pages.lruAdd(p, a.ix);
        k.pages.put(p, a.ix, a.id);
      }
      a.l.sh_fromlist = [];
      a.results.push(`shmem_shrink_hugehole() = ${a.l.sh_freed}`);
    },
    shNextPass: (a) => {
      a.l.passes--;
    },
  },
};
