// Step footprints, on which the dfs's sleep sets rest: recording one must not change the
// step, and two steps the footprints call independent must commute — both orders reach the
// same model state — at every state tried, on every kind of scenario.
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../src/scenario/load.ts';
import { type Decision, run } from '../src/sched/run.ts';
import { Footprint, independent } from '../src/world/footprint.ts';
import { Rng } from '../src/sched/rng.ts';

const scenarios = [
  'examples/zero-page-as-posted.yaml',
  'examples/collapse-shmem-vs-truncate.yaml',
  'examples/collapse-shmem-vs-swapout.yaml',
  'examples/madvise-collapse-two-callers.yaml',
  'examples/pte-mapped-thp-retry-per-pmd.yaml',
  'test/fixtures/shmem-all-paths.yaml',
  'test/fixtures/file-collapse-all-paths.yaml',
];

let dependentSeen = 0;

describe('step footprints', () => {
  for (const file of scenarios) {
    it(`${file}: recording changes nothing, and independent steps commute`, async () => {
      const s = await loadScenario(file);
      const rng = new Rng(11);
      let independentPairs = 0;
      let dependentPairs = 0;
      for (let trial = 0; trial < 25; trial++) {
        // a state somewhere along a random schedule
        const full = run(s, { seed: 500 + trial });
        const prefix = full.schedule.slice(0, rng.below(full.schedule.length));
        const node = run(s, { schedule: prefix, frontier: true });
        const open = node.frontier ?? [];
        const fps = open.map((d) => {
          const tracked = run(s, { schedule: [...prefix, d], frontier: true, footprint: true });
          const plain = run(s, { schedule: [...prefix, d], frontier: true });
          expect(tracked.traceHash).toBe(plain.traceHash);
          expect(tracked.stateHash).toBe(plain.stateHash);
          expect(tracked.verdict).toBe(plain.verdict);
          expect(tracked.footprint).toBeInstanceOf(Footprint);
          return tracked.footprint!;
        });
        for (let i = 0; i < open.length; i++) {
          for (let j = i + 1; j < open.length; j++) {
            const [a, b] = [open[i]!, open[j]!];
            if (a.actor === b.actor) continue;
            if (!independent(fps[i]!, fps[j]!)) {
              dependentPairs++;
              continue;
            }
            independentPairs++;
            const order = (x: Decision, y: Decision) => run(s, { schedule: [...prefix, x, y], frontier: true });
            const ab = order(a, b);
            const ba = order(b, a);
            const what = `${a.actor}@${a.state} / ${b.actor}@${b.state} after ${prefix.length} steps`;
            expect(ab.divergence, what).toBeUndefined();
            expect(ba.divergence, what).toBeUndefined();
            expect(ba.verdict, what).toBe(ab.verdict);
            expect(ba.stateHash, what).toBe(ab.stateHash);
          }
        }
      }
      // the check is not vacuous: independent pairs were met (dependent ones: see below)
      expect(independentPairs).toBeGreaterThan(0);
      dependentSeen += dependentPairs;
    }, 60_000);
  }

  it('and the footprints do call some pairs dependent', () => {
    expect(dependentSeen).toBeGreaterThan(0);
  });

  it('names what it saw: a page lock taken is a write of that page\'s state, the clock makes a step depend on all', async () => {
    const s = await loadScenario('examples/pte-mapped-thp-retry-per-pmd.yaml');
    const full = run(s, { seed: 1 });
    const at = full.schedule.findIndex((d) => d.state.endsWith('getpage.lock_page'));
    expect(at).toBeGreaterThanOrEqual(0);
    const fp = run(s, { schedule: full.schedule.slice(0, at + 1), frontier: true, footprint: true }).footprint!;
    expect(fp.writes.size).toBeGreaterThan(0);
    expect(fp.clock).toBe(false);
    expect(independent(fp, fp)).toBe(false);
    const clock = new Footprint();
    clock.clock = true;
    expect(independent(clock, new Footprint())).toBe(false);
    expect(independent(new Footprint(), new Footprint())).toBe(true);
  });
});
