// The XState machines and the compiled charts agree on the larger charts too: khugepaged
// with collapse_shmem and retract_page_tables, the shmem paths, MADV_COLLAPSE and the
// seed-003 retries — same trace hash, verdict and schedule for the same seed.
import { expect, it } from 'vitest';
import { loadScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';

for (const f of [
  'examples/collapse-shmem-vs-swapout.yaml',
  'examples/madvise-collapse-vs-khugepaged.yaml',
  'examples/pte-mapped-thp-retry-per-pmd.yaml',
  'examples/collapse-shmem-as-posted-exit.yaml',
]) {
  it(`${f}: fast and xstate engines agree on 6 seeds`, async () => {
    const s = await loadScenario(f);
    for (let seed = 1; seed <= 6; seed++) {
      const a = run(s, { seed, engine: 'fast' });
      const b = run(s, { seed, engine: 'xstate' });
      expect(b.traceHash).toBe(a.traceHash);
      expect(b.verdict).toBe(a.verdict);
      expect(b.schedule).toEqual(a.schedule);
    }
  }, 60_000);
}
