/**
 * A pmd entry as a statechart: none, pointing to a pte table, mapping a huge page, or
 * mapping the huge zero page. Installing over a present entry (set_pmd_at on a pmd
 * that is not pmd_none) is illegal: the old entry's references would be lost.
 */
import type { ObjectChartDef } from '../src/engine/object_chart.ts';

export const PMD_EVENTS = [
  'PMD_POPULATE', 'SET_PMD_HUGE', 'SET_HUGE_ZERO',
  'PMDP_CLEAR', 'SPLIT_HUGE_ZERO', 'SPLIT_HUGE', 'COW_HUGE_ZERO', 'COW_HUGE', 'PMD_WRPROTECT',
] as const;
export type PmdEvent = (typeof PMD_EVENTS)[number];

export const pmdChart: ObjectChartDef<PmdEvent> = {
  id: 'pmd',
  description: 'pmd entry: none / pte table / huge pmd / huge zero pmd',
  events: PMD_EVENTS,
  regions: {
    entry: {
      initial: 'none',
      states: {
        none: {
          on: {
            PMD_POPULATE: 'pte_table', // pmd_populate(): install a pte table
            SET_PMD_HUGE: 'huge', // set_pmd_at() with a huge page
            SET_HUGE_ZERO: 'huge_zero', // set_huge_zero_page()
          },
        },
        pte_table: {
          on: { PMDP_CLEAR: 'none' }, // free_pgtables / retract_page_tables
        },
        huge: {
          on: {
            PMDP_CLEAR: 'none', // zap_huge_pmd: pmdp_get_and_clear
            SPLIT_HUGE: 'pte_table', // __split_huge_pmd: pte table mapping each subpage
            COW_HUGE: 'huge', // do_huge_pmd_wp_page: new page replaces the shared one
            PMD_WRPROTECT: 'huge', // copy_huge_pmd: pmdp_set_wrprotect
          },
        },
        huge_zero: {
          on: {
            PMDP_CLEAR: 'none',
            SPLIT_HUGE_ZERO: 'pte_table', // __split_huge_zero_page_pmd
            COW_HUGE_ZERO: 'huge', // do_huge_pmd_wp_page on the huge zero pmd
          },
        },
      },
    },
  },
};
