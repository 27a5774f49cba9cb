// Model errors found by comparing with a live kernel (issue 17, items 2-4): each test fails
// on the model as it was.
import { expect, it } from 'vitest';
import { ScenarioError, validateScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';

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
