/**
 * Corrections of findings on seed 000 (collapse_shmem as posted), each as mainline later
 * fixed it (Hugh Dickins' "huge tmpfs" fixes, Nov 2018). The default runs the seed as posted.
 */
import type { Variant } from '../registry.ts';

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
