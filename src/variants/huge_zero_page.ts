/**
 * Corrections of findings on seed 004 as posted, selectable by name in a scenario's
 * `variants:`. The default runs the seed as posted.
 */
import { patchStates } from '../engine/patch.ts';
import type { Variant } from '../registry.ts';
import { putHugeZeroPageStates } from '../../machines/huge_zero_page.ts';

/**
 * Finding: two threads of one mm read-fault the same unmapped huge range; both see
 * pmd_none, both get_huge_zero_page(), and the second set_huge_zero_page() writes over
 * the first's pmd — its reference (and deposited page table) is lost. Mainline's fix
 * makes set_huge_zero_page() check pmd_none() under the page table lock and, when it
 * lost, pte_free() and put_huge_zero_page().
 */
export const setHugeZeroPagePmdNoneCheck: Variant = {
  name: 'set_huge_zero_page_pmd_none_check',
  kind: 'fix',
  description: 'set_huge_zero_page() returns false if !pmd_none(*pmd); the loser frees its page table and puts its reference',
  charts: {
    task: (def) =>
      patchStates(def, 'page_fault.do_huge_pmd_anonymous_page', (states) => ({
        ...states,
        set_huge_zero_page: {
          meta: { kernel: 'set_huge_zero_page: if (!pmd_none(*pmd)) return false; ...' },
          on: {
            STEP: [
              { guard: 'pmdPresent', target: 'lost_zero_unlock' },
              { actions: 'setHugeZeroPage', target: 'spin_unlock' },
            ],
          },
        },
        lost_zero_unlock: {
          meta: { kernel: 'do_huge_pmd_anonymous_page: spin_unlock(&mm->page_table_lock)' },
          on: { STEP: { actions: 'unlockPtl', target: 'lost_zero_pte_free' } },
        },
        lost_zero_pte_free: {
          meta: { kernel: 'do_huge_pmd_anonymous_page: if (!set) { pte_free(mm, pgtable);' },
          on: { STEP: { actions: ['pteFree', 'faultOk'], target: 'lost_zero_put' } },
        },
        lost_zero_put: { ...putHugeZeroPageStates(), onDone: 'returned' },
      })),
  },
};

/**
 * Finding: the seed frees the huge zero page with __free_page(), order 0, though it was
 * allocated with HPAGE_PMD_ORDER: the tail pages are never freed. Mainline ("mm: free
 * compound page with correct order") uses __free_pages(page, compound_order(page)).
 */
export const freeCompoundPageWithOrder: Variant = {
  name: 'free_compound_page_with_order',
  kind: 'fix',
  description: '__free_pages(zero_page, compound_order(zero_page)) instead of __free_page(zero_page)',
};
