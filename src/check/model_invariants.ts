/**
 * The invariants a run can report beside the registered monitors' (each monitor's `name`):
 * those the memory model and the charts check as they step (Kernel.violate: an object
 * chart refusing a command, a kernel BUG_ON/VM_BUG_ON), and the scheduler's deadlock.
 * `thpsim list` prints them and the inspector explains a violation by them;
 * test/cli.test.ts checks that every name the sources report is here or a monitor's.
 */
export const MODEL_INVARIANTS: Record<string, string> = {
  'illegal-transition': 'a kernel object\'s statechart refused a command: e.g. unlock_page() of an unlocked page, a reference taken on a frozen page, freeing a mapped page',
  'lock-holder': 'a lock was taken while held, or released by an actor that does not hold it',
  'page-table': 'a page table was changed inconsistently: a pte set without a pte table, a pte table freed with present ptes or under a zap reading it ("Bad page map")',
  'bad-pfn': 'a command on a pfn outside mem_map',
  'compound-free-order': '__free_pages() with an order other than the compound page\'s: its tail pages leak',
  'huge-zero-put-last': 'put_huge_zero_page() dropped the last reference to the huge zero page',
  'huge-zero-shrinker': 'the huge zero page shrinker freed a page someone still uses',
  khugepaged: 'a VM_BUG_ON in khugepaged fired (e.g. a collapse start not HPAGE_PMD_NR-aligned)',
  collapse_shmem: 'a BUG_ON/VM_BUG_ON in collapse_shmem fired (e.g. VM_BUG_ON_PAGE(PageTransCompound(page)), a new page that cannot be frozen)',
  truncate: 'truncation deleted a page from the page cache while a page table still maps it',
  deadlock: 'every actor is blocked and none can run (the scheduler; verdict deadlock)',
};

/** A run's verdicts (`thpsim run` exits 0 for ok, 1 for any other). */
export const VERDICTS: Record<string, string> = {
  ok: 'every actor finished (or went idle) and no invariant was broken',
  violation: 'an invariant was broken: the run stops after that step (or, for a check at quiescence, at the end)',
  deadlock: 'every actor left is blocked',
  liveness: 'a liveness monitor (liveness-pmd-mapped) complained at quiescence',
  'step-bound': 'the run reached max_steps (--max-steps) with actors still running',
  divergence: 'a replay whose decisions the scheduler could not follow (the scenario or the model changed)',
};
