/**
 * Bench (issue 3): khugepaged collapsing a 1 GiB shmem file — 512 extents × 512 pages,
 * HPAGE_PMD_NR=512 — end to end with every invariant on, then with none. Run as a child of
 * bench/run.ts so its peak RSS is its own. Prints one JSON line: per-run wall times, steps,
 * verdict.
 *
 * The file starts populated (every page written, on the LRU), mapped by one mm with
 * VM_HUGEPAGE; khugepaged runs one full scan and must collapse all 512 extents.
 */
import { validateScenario } from '../src/scenario/load.ts';
import { timedRuns } from './timed_runs.ts';

const RUNS = Number(process.argv[2] ?? 5);
const GiB = 1 << 30;

const s = await validateScenario({
  name: 'khugepaged-collapse-1GiB',
  hpage_pmd_nr: 512,
  max_steps: 10_000_000,
  sysfs: { shmem_enabled: 'always' },
  variants: ['collapse_shmem_clear_holes', 'collapse_shmem_rollback_nrpages', 'collapse_shmem_stop_if_truncated'],
  files: [{ name: 'shm', size: GiB, populated: true }],
  mms: [{ name: 'mm', vmas: [{ start: GiB, size: GiB, file: 'shm', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED', 'VM_HUGEPAGE'] }] }],
  actors: [{ kind: 'khugepaged', id: 'khugepaged', full_scans: 1 }],
}, '<bench:khugepaged>');

const { ms, setupMs, last } = timedRuns(s, RUNS, (last) => {
  if (last.verdict !== 'ok' || last.kernel.khugepaged.pages_collapsed !== 512) {
    throw new Error(`khugepaged bench: verdict ${last.verdict}, ${last.kernel.khugepaged.pages_collapsed} collapsed: ${JSON.stringify(last.violations)}`);
  }
});
// the same with every monitor off: the monitors' share of the time (the goal's is with them on)
const bare = timedRuns(s, RUNS, (r) => {
  if (r.traceHash !== last.traceHash) throw new Error(`khugepaged bench: trace ${r.traceHash} with no monitor, ${last.traceHash} with every one`);
}, []);
const k = last.kernel;
console.log(JSON.stringify({
  ms, setupMs, bareMs: bare.ms, bareSetupMs: bare.setupMs, steps: last.steps, verdict: last.verdict, pagesCollapsed: k.khugepaged.pages_collapsed,
  thpCollapseAlloc: k.vmstat.get('thp_collapse_alloc'), nrShmemHugepages: k.vmstat.get('nr_shmem_hugepages'),
  maxRssKiB: process.resourceUsage().maxRSS, traceHash: last.traceHash,
}));
