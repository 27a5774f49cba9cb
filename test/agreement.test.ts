// Model errors found by comparing with a live kernel (issue 17, items 2-4): each test fails
// on the model as it was.
import { expect, it } from 'vitest';
import { ScenarioError, validateScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';
import { allActorKinds, allVariants, patchedChart } from '../src/registry.ts';
import { compileTaskChart } from '../src/engine/task_chart.ts';
import { explore } from '../src/explore/explore.ts';
import { walkStates } from '../src/engine/chart.ts';

const FIXES = ['collapse_shmem_clear_holes', 'collapse_shmem_rollback_nrpages', 'collapse_shmem_stop_if_truncated', 'retract_page_tables_test_exit', 'collapse_shmem_compound_check'];

/** One task writing an extent of a shmem mapping, then MADV_COLLAPSE of it. */
function madviseCollapse(sysfs: Record<string, unknown> = {}) {
  return validateScenario({
    name: 'madvise-collapse-one', hpage_pmd_nr: 4, sysfs, variants: FIXES,
    files: [{ name: 'f', size: 0x4000 }],
    mms: [{ name: 'm', vmas: [{ start: 0, size: 0x4000, file: 'f', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED'] }] }],
    actors: [{ kind: 'task', id: 'T1', mm: 'm', ops: [{ write: 0 }, { write: 0x1000 }, { madvise_collapse: { start: 0, size: 0x4000 } }] }],
  }, '<test>');
}

it("khugepaged's pages_collapsed does not count a MADV_COLLAPSE caller's collapse (cc->is_khugepaged)", async () => {
  const r = run(await madviseCollapse(), { seed: 1 });
  expect(r.verdict).toBe('ok');
  expect(r.actors[0]!.results).toEqual(['madvise(0x0, 0x4000, MADV_COLLAPSE) = 0']);
  expect(r.kernel.vmstat.get('nr_shmem_hugepages')).toBe(1);
  expect(r.kernel.khugepaged.pages_collapsed).toBe(0);
});

it('shmem_enabled=deny stops MADV_COLLAPSE (shmem_is_huge tests deny before force): EINVAL', async () => {
  const r = run(await madviseCollapse({ shmem_enabled: 'deny' }), { seed: 1 });
  expect(r.verdict).toBe('ok');
  expect(r.actors[0]!.results).toEqual(['madvise(0x0, 0x4000, MADV_COLLAPSE) = -1 EINVAL (last: SCAN_VMA_CHECK)']);
  expect(r.kernel.vmstat.get('nr_shmem_hugepages')).toBe(0);
  // force still collapses
  const f = run(await madviseCollapse({ shmem_enabled: 'force' }), { seed: 1 });
  expect(f.actors[0]!.results).toEqual(['madvise(0x0, 0x4000, MADV_COLLAPSE) = 0']);
});

it('MADV_COLLAPSE of anonymous memory is refused at validation with one line naming the field', async () => {
  const bad = validateScenario({
    name: 'anon-collapse', hpage_pmd_nr: 4,
    mms: [{ name: 'm', vmas: [{ start: 0, size: 0x4000 }] }],
    actors: [{ kind: 'task', id: 'T1', mm: 'm', ops: [{ write: 0 }, { madvise_collapse: { start: 0, size: 0x4000 } }] }],
  }, 'anon.yaml');
  await expect(bad).rejects.toBeInstanceOf(ScenarioError);
  await expect(bad).rejects.toThrow('anon.yaml: actors[0].ops[1].madvise_collapse: MADV_COLLAPSE of anonymous memory (collapse_huge_page) is not modelled');
});

// Item 1: a fix of a kernel function reaches every actor that runs it — collapse_shmem and
// retract_page_tables are embedded by khugepaged and by a MADV_COLLAPSE caller alike.

it('every variant that patches a kernel function patches it in every chart that embeds it', () => {
  let checked = 0;
  for (const v of allVariants()) {
    for (const fn of Object.keys(v.functions ?? {})) {
      for (const kind of allActorKinds()) {
        const embeds: string[] = [];
        walkStates(kind.chart.states, (path, def) => {
          if (def.states && def.meta?.kernel === fn) embeds.push(path);
        });
        if (!embeds.length) continue;
        const plain = compileTaskChart(kind.chart);
        const fixed = compileTaskChart(patchedChart(kind.chart, [v.name]));
        // each embedding's states differ with the fix (a state added or a transition changed)
        for (const at of embeds) {
          const sig = (c: typeof plain) => c.nodes.filter((n) => n.path.startsWith(`${at}.`)).map((n) => `${n.path}:${n.step.length}/${n.always.length}`).join();
          expect(sig(fixed), `${v.name} in ${kind.kind} at ${at}`).not.toBe(sig(plain));
          checked++;
        }
      }
    }
  }
  // collapse_shmem_stop_if_truncated and retract_page_tables_test_exit, each in khugepaged and task
  expect(checked).toBeGreaterThanOrEqual(4);
});

it('collapse_shmem_stop_if_truncated reaches MADV_COLLAPSE: an extent truncated under the caller is no longer refilled', async () => {
  const scenario = (variants: string[]) => validateScenario({
    name: 'madvise-collapse-vs-truncate', hpage_pmd_nr: 4,
    variants: ['collapse_shmem_clear_holes', 'collapse_shmem_rollback_nrpages', 'retract_page_tables_test_exit', 'collapse_shmem_compound_check', ...variants],
    files: [{ name: 'f', size: 0x4000, populated: true }],
    mms: [{ name: 'm1', vmas: [{ start: 0, size: 0x4000, file: 'f', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED'] }] }],
    actors: [
      { kind: 'task', id: 'T1', mm: 'm1', ops: [{ madvise_collapse: { start: 0, size: 0x4000 } }] },
      { kind: 'task', id: 'T2', mm: 'm1', ops: [{ truncate: { file: 'f', size: 0 } }] },
    ],
  }, '<test>');
  const without = explore(await scenario([]), { strategy: 'dfs', preemptionBound: 2, shrinkBudget: 0 });
  expect(without.verdicts.violation ?? 0).toBeGreaterThan(0);
  expect(without.counterexamples[0]!.violation?.invariant).toBe('truncation');
  const withFix = explore(await scenario(['collapse_shmem_stop_if_truncated']), { strategy: 'dfs', preemptionBound: 2, shrinkBudget: 0 });
  expect(withFix.complete).toBe(true);
  expect(withFix.verdicts.violation ?? 0).toBe(0);
});
