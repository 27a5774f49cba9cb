/**
 * Bench (seed 001): huge tmpfs recovery of 64 extents × 512 pages (HPAGE_PMD_NR=512), each
 * extent half swapped out (every other page in swap), none a team; one recovery worker per
 * extent (queued by a fault on its first page), every invariant on. Run as a child of
 * bench/run.ts so its peak RSS is its own. Prints one JSON line: per-run wall times, steps,
 * verdict, how many teams completed. The seed as posted (no variant).
 */
import { validateScenario } from '../src/scenario/load.ts';
import { timedRuns } from './timed_runs.ts';

const RUNS = Number(process.argv[2] ?? 5);
const EXTENTS = 64;
const HPAGE = 512 * 4096;
const size = EXTENTS * HPAGE;
// every other page swapped out
const swapped = Array.from({ length: (size / 4096) / 2 }, (_, i) => ({ offset: (2 * i + 1) * 4096, size: 4096 }));

const s = await validateScenario({
  name: 'team-recovery-64-extents',
  hpage_pmd_nr: 512,
  max_steps: 10_000_000,
  files: [{ name: 'shm', size, huge: true, populated: true, swapped }],
  mms: [{ name: 'mm', vmas: [{ start: size, size, file: 'shm', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED'] }] }],
  actors: [
    { kind: 'task', id: 'T', mm: 'mm', ops: [{ read: size }] },
    ...Array.from({ length: EXTENTS }, (_, i) => ({ kind: 'shmem_recovery', id: `recovery${i}`, file: 'shm', offset: i * HPAGE, mm: 'mm' })),
  ],
}, '<bench:team-recovery>');

const { ms, setupMs, last } = timedRuns(s, RUNS, (last) => {
  const done = last.kernel.vmstat.get('recov_completed');
  if (last.verdict !== 'ok' || done !== EXTENTS) {
    throw new Error(`team recovery bench: verdict ${last.verdict}, ${done} of ${EXTENTS} completed: ${JSON.stringify(last.violations)}`);
  }
});
const k = last.kernel;
console.log(JSON.stringify({
  ms, setupMs, steps: last.steps, verdict: last.verdict, recovCompleted: k.vmstat.get('recov_completed'),
  pageMigrate: k.vmstat.get('page_migrate'), nrShmemHugepages: k.vmstat.get('nr_shmem_hugepages'),
  maxRssKiB: process.resourceUsage().maxRSS, traceHash: last.traceHash,
}));
