/**
 * Corrections of findings on seed 000 (collapse_shmem as posted), each as mainline later
 * fixed it (Hugh Dickins' "huge tmpfs" fixes, Nov 2018). The default runs the seed as posted.
 */
import type { Variant } from '../registry.ts';
import { transitionList } from '../engine/chart.ts';
import type { Actor } from '../sched/actor.ts';
import type { KhugepagedLocals } from '../../machines/khugepaged.ts';

/**
 * Finding: the new huge page is allocated without __GFP_ZERO and collapse_shmem() only
 * copies the old pages into it, so a hole it fills reads back as whatever the page held
 * before (data-integrity). Fix: clear_highpage() each hole ("mm/khugepaged:
 * collapse_shmem() remember to clear holes").
 */
export const collapseShmemClearHoles: Variant = {
  name: 'collapse_shmem_clear_holes',
  kind: 'fix',
  description: 'collapse_shmem() clears the subpages it instantiated for holes before exposing the huge page',
};

/**
 * Finding: shmem_charge() adds the holes to mapping->nrpages, but on rollback
 * shmem_uncharge() does not take them away again, so nrpages stays too high after a
 * failed collapse that had filled holes (accounting). Fix: mapping->nrpages -= nr_none
 * on the rollback path ("mm/khugepaged: fix crashes due to misaccounted holes").
 */
export const collapseShmemRollbackNrpages: Variant = {
  name: 'collapse_shmem_rollback_nrpages',
  kind: 'fix',
  description: 'collapse_shmem() rollback subtracts the restored holes from mapping->nrpages',
};

/**
 * Finding: khugepaged_scan_shmem() saw pages, but by the time collapse_shmem() walks the
 * extent a truncation has emptied it; the walk fills every hole and builds a huge page
 * wholly beyond i_size (truncation invariant: "refill an emptied extent"). Fix: at the
 * start of the walk, stop with SCAN_TRUNCATED if no entry is left in the extent
 * ("mm/khugepaged: collapse_shmem() stop if punched or truncated").
 */
export const collapseShmemStopIfTruncated: Variant = {
  name: 'collapse_shmem_stop_if_truncated',
  kind: 'fix',
  description: 'collapse_shmem() gives up with SCAN_TRUNCATED when the extent has been emptied before its walk',
  functions: {
    collapse_shmem: {
      patch: (states) => ({
        ...states,
        walk: {
          ...states.walk,
          always: [
            { guard: 'csExtentEmptied', actions: 'csTruncated', target: 'tree_unlock_final' },
            ...transitionList(states.walk!.always),
          ],
        },
      }),
      guards: {
        // "Stop if extent has been truncated or hole-punched, and is now completely empty."
        csExtentEmptied: (a: Actor<KhugepagedLocals>) =>
          a.l.cs_index === a.l.sc_start && a.l.cs_iter >= a.l.sc_start + a.k.HPAGE_PMD_NR,
      },
    },
  },
};

/**
 * Finding: retract_page_tables() takes mmap_sem with down_write_trylock(), but exit_mmap()
 * runs without mmap_sem: the trylock succeeds on an exiting mm, and retract clears *pmd
 * and frees the page table while zap_pte_range() has already read *pmd and is about to
 * walk that table (page-table: "BUG: Bad page map"). Fix: after the trylock, skip an mm
 * whose users are gone ("khugepaged: retract_page_tables() remember to test exit").
 */
export const retractPageTablesTestExit: Variant = {
  name: 'retract_page_tables_test_exit',
  kind: 'fix',
  description: 'retract_page_tables() skips an mm that khugepaged_test_exit() says is exiting',
  functions: {
    retract_page_tables: {
      patch: (states) => ({
        ...states,
        trylock: {
          ...states.trylock,
          on: {
            STEP: transitionList(states.trylock!.on!.STEP).map((t) => (t.target === 'pmd_lock' ? { ...t, target: 'test_exit' } : t)),
          },
        },
        test_exit: {
          meta: { kernel: 'retract_page_tables: if (!khugepaged_test_exit(mm)) ... else up_write' },
          always: [
            { guard: 'rtMmExiting', actions: 'rtUpWriteSkip', target: 'next' },
            { target: 'pmd_lock' },
          ],
        },
      }),
      guards: {
        rtMmExiting: (a: Actor<KhugepagedLocals>) => a.k.mms[a.l.rt_todo.at(0)!]!.usersState() !== 'live',
      },
      actions: {
        rtUpWriteSkip: (a: Actor<KhugepagedLocals>) => {
          a.k.mmapWriteUnlock(a.k.mms[a.l.rt_todo.at(0)!]!, a.ix);
          a.l.rt_todo.splice(0, 2);
        },
      },
    },
  },
};

/**
 * Seed 003 as posted: when retract_page_tables() cannot take mmap_sem, set one
 * AS_COLLAPSE_PMD flag on the address_space; the next khugepaged_scan_file() that finds
 * the extent already huge tests and clears it and retracts that extent's page tables.
 */
export const ptemappedRetryAsFlag: Variant = {
  name: 'pte_mapped_thp_retry_as_flag',
  kind: 'design',
  description: 'seed 003 as posted: retry pte-mapped THPs through one AS_COLLAPSE_PMD flag per address_space',
};

/**
 * The design the reviewer asks for (mainline: a per-mm list of addresses): remember each
 * pmd retract_page_tables() could not take, and collapse_pte_mapped_thp() each of them
 * when khugepaged next visits that mm.
 */
export const ptemappedRetryPerPmd: Variant = {
  name: 'pte_mapped_thp_retry_per_pmd',
  kind: 'design',
  description: 'per-PMD retry: remember each pmd retract_page_tables could not take; collapse_pte_mapped_thp it later',
};

/**
 * Finding: a second collapse context (MADV_COLLAPSE, seed 002) racing on the same extent
 * can find the other's new huge page in the slot it trylocks — and so can khugepaged alone,
 * once shmem faults allocate huge pages (v4.8): a punch empties the extent between the scan
 * and the walk, and a fault fills it with a huge page (collapse-shmem-as-posted-huge-fault).
 * collapse_shmem as posted has VM_BUG_ON_PAGE(PageTransCompound(page)). Fix: give up with
 * SCAN_PAGE_COMPOUND ("mm/khugepaged: collapse_shmem() do not crash on Compound"; seed 002
 * relies on it).
 */
export const collapseShmemCompoundCheck: Variant = {
  name: 'collapse_shmem_compound_check',
  kind: 'fix',
  description: 'collapse_shmem() returns SCAN_PAGE_COMPOUND for a compound page in the extent instead of VM_BUG_ON',
};

/**
 * Finding (spin-on-sleeper): collapse_shmem() freezes the new huge page at refcount 0 before
 * it exposes it in the page cache and keeps it frozen to the end — across its own
 * shmem_getpage() (lock_page, swap-in), unmap_mapping_range() and retract_page_tables()
 * (i_mmap_lock_write), all of which may sleep. Any lookup of the extent meanwhile spins in
 * find_get_entry() ("goto repeat" while page_cache_get_speculative() fails) until
 * khugepaged is back: "Imagine the frozen refcount as a spinlock held, but without any lock
 * debugging to highlight the abuse". Fix: do not freeze new_page — it is locked and not
 * uptodate throughout, which already keeps everyone out; lookups take a reference and sleep
 * in lock_page() on it; page_ref_add(new_page, HPAGE_PMD_NR - 1) at the end
 * ("mm/khugepaged: collapse_shmem() without freezing new_page", 87c460a0bded).
 */
export const collapseShmemNoFreezeNewPage: Variant = {
  name: 'collapse_shmem_no_freeze_new_page',
  kind: 'fix',
  description: 'collapse_shmem() keeps the new huge page locked but not frozen, so lookups sleep on its page lock instead of spinning',
};
