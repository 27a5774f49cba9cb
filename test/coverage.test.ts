// Every atomic step of the task and shrinker charts is taken by some schedule of a
// racing scenario — except the ones the kernel code itself makes unreachable, listed
// here with the reason. A step that stops being reached (or a new one never reached)
// fails this test.
import { expect, it } from 'vitest';
import { loadScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';
import { getActorKind, patchedChart } from '../src/registry.ts';
import { compileTaskChart } from '../src/engine/task_chart.ts';

const UNREACHABLE: Record<string, string> = {
  // copy_huge_pmd: "get_huge_zero_page() will never allocate a new page here, since we
  // already have a zero page to copy. It just takes a reference." (seed 004)
  'fork.copy.get_huge_zero_page.alloc': 'the parent maps the huge zero page: the count is not zero',
  'fork.copy.get_huge_zero_page.publish': 'idem',
  'fork.copy.get_huge_zero_page.freeOurs': 'idem',
  'fork.copy.get_huge_zero_page.setCount': 'idem',
  // split_huge_page_pmd inlined as the fallback of a COW of an anonymous huge page: the
  // pmd cannot turn into the huge zero pmd while the faulting thread holds mmap_sem.
  'page_fault.do_huge_pmd_wp_page.split_fallback.split_zero': 'orig_pmd was an anonymous huge page',
  'page_fault.do_huge_pmd_wp_page.split_fallback.put_huge_zero_page.dec': 'idem',
};

it('every step of the task and shrinker charts is reached by some schedule, and every schedule keeps every invariant', async () => {
  const s = await loadScenario('test/fixtures/zero-page-all-paths.yaml');
  const seen = new Set<string>();
  for (let seed = 1; seed <= 800; seed++) {
    const r = run(s, { seed });
    if (r.verdict !== 'ok') throw new Error(`seed ${seed}: ${r.verdict} ${JSON.stringify(r.violations)}`);
    for (const d of r.schedule) seen.add(`${s.actors.find((a) => a.id === d.actor)!.kind}:${d.state}`);
  }
  for (const kind of ['task', 'huge_zero_page_shrinker']) {
    const c = compileTaskChart(patchedChart(getActorKind(kind)!.chart, s.variants));
    const steppable = c.nodes.filter((n) => n.kind === 'atomic' && n.step.length).map((n) => n.path);
    const missed = steppable.filter((p) => !seen.has(`${kind}:${p}`));
    expect(missed.sort()).toEqual(kind === 'task' ? Object.keys(UNREACHABLE).sort() : []);
  }
});
