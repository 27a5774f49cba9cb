// shmem faults allocating a huge page directly, and CONFIG_READ_ONLY_THP_FOR_FS gating the
// collapse of a regular file (issue 17, item 9).
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../src/scenario/load.ts';
import { type RunResult, run } from '../src/sched/run.ts';

const vm = (r: RunResult, item: string) => r.kernel.vmstat.get(item as never);

/** The run kept every invariant, and every actor finished. */
function ok(r: RunResult): RunResult {
  expect(r.verdict, JSON.stringify(r.violations)).toBe('ok');
  expect(r.actors.every((a) => a.outcome === 'ok'), JSON.stringify(r.actors)).toBe(true);
  return r;
}

describe('CONFIG_READ_ONLY_THP_FOR_FS', () => {
  const text = async (config: Record<string, unknown>, actors: Record<string, unknown>[] = []) => validateScenario({
    name: 'ro-thp', hpage_pmd_nr: 4, config,
    sysfs: { khugepaged: { scan_sleep_millisecs: 0 } },
    files: [{ name: 'text', shmem: false, size: 0x4000, populated: true }],
    mms: [{ name: 'm1', vmas: [{ start: 0, size: 0x4000, file: 'text', flags: ['VM_READ', 'VM_EXEC', 'VM_HUGEPAGE'] }] }],
    actors: [{ kind: 'task', id: 'T1', mm: 'm1', ops: [{ read: 0 }, { madvise_collapse: { start: 0, size: 0x4000 } }] }, ...actors],
  }, 'inline');

  it('off (the default, as in the kernel\'s Kconfig): MADV_COLLAPSE of a regular file is EINVAL, khugepaged never scans it', async () => {
    const off = run(await text({}, [{ kind: 'khugepaged', id: 'khugepaged', full_scans: 2 }]));
    expect(off.verdict).toBe('ok');
    expect(off.kernel.config.READ_ONLY_THP_FOR_FS).toBe(false);
    // hugepage_vma_check refused the vma at mmap: the mm was never registered, khugepaged idles
    expect(off.actors.map((a) => a.outcome)).toEqual(['ok', 'idle']);
    expect(off.actors[0]!.results[0]).toMatch(/MADV_COLLAPSE\) = -1 EINVAL/);
    expect([vm(off, 'nr_file_hugepages'), vm(off, 'thp_collapse_alloc')]).toEqual([0, 0]);
    // an mm registered for a shmem vma: khugepaged scans that one, and skips the text
    const both = await validateScenario({
      name: 'ro-thp-skip', hpage_pmd_nr: 4, sysfs: { shmem_enabled: 'always', khugepaged: { scan_sleep_millisecs: 0 } },
      files: [{ name: 'text', shmem: false, size: 0x4000, populated: true }, { name: 'f', size: 0x4000, populated: true }],
      mms: [{ name: 'm1', vmas: [
        { start: 0, size: 0x4000, file: 'text', flags: ['VM_READ', 'VM_EXEC', 'VM_HUGEPAGE'] },
        { start: 0x200000, size: 0x4000, file: 'f', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED'] },
      ] }],
      actors: [{ kind: 'task', id: 'T1', mm: 'm1', ops: [{ read: 0 }] }, { kind: 'khugepaged', id: 'khugepaged', full_scans: 2 }],
    }, 'inline');
    const lines: string[] = [];
    const r = ok(run(both, { trace: (l) => lines.push(l) }));
    const scans = lines.filter((l) => l.includes('mm_khugepaged_scan_file'));
    expect(scans.some((l) => l.includes('filename=f '))).toBe(true);
    expect(scans.some((l) => l.includes('filename=text '))).toBe(false);
    expect([vm(r, 'nr_file_hugepages'), vm(r, 'nr_shmem_hugepages')]).toEqual([0, 1]);
  });

  it('on: MADV_COLLAPSE collapses the text into an nr_file_hugepages page; khugepaged alone does too', async () => {
    const on = ok(run(await text({ READ_ONLY_THP_FOR_FS: true })));
    expect(on.actors[0]!.results).toEqual(['madvise(0x0, 0x4000, MADV_COLLAPSE) = 0']);
    expect(vm(on, 'nr_file_hugepages')).toBe(1);
    const s = await validateScenario({
      name: 'ro-thp-khugepaged', hpage_pmd_nr: 4, config: { READ_ONLY_THP_FOR_FS: true },
      sysfs: { khugepaged: { scan_sleep_millisecs: 0 } },
      files: [{ name: 'text', shmem: false, size: 0x4000, populated: true }],
      mms: [{ name: 'm1', vmas: [{ start: 0, size: 0x4000, file: 'text', flags: ['VM_READ', 'VM_EXEC', 'VM_HUGEPAGE'] }] }],
      actors: [{ kind: 'task', id: 'T1', mm: 'm1', ops: [{ read: 0 }] }, { kind: 'khugepaged', id: 'khugepaged', full_scans: 2 }],
    }, 'inline');
    const k = ok(run(s, { strategy: 'guided', guide: [] }));
    expect(vm(k, 'nr_file_hugepages')).toBe(1);
    expect(k.kernel.khugepaged.pages_collapsed).toBe(1);
  });

  it('the scenario field is validated', async () => {
    await expect(text({ READ_ONLY_THP_FOR_FS: 'yes' })).rejects.toThrow(/config\.READ_ONLY_THP_FOR_FS/);
    await expect(text({ TRANSPARENT_HUGE_PAGECACHE: true })).rejects.toThrow(/config/);
  });
});
