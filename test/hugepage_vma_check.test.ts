// hugepage_vma_check() as seed 000 changes it, with shmem_huge_enabled(): which VMAs
// khugepaged may collapse in, and that an ineligible one is really left alone.
import { describe, expect, it } from 'vitest';
import { khugepagedVmaCheck } from '../machines/khugepaged.ts';
import { Kernel } from '../src/memory/kernel.ts';
import { VM, type Vma } from '../src/memory/mm.ts';
import type { Actor } from '../src/sched/actor.ts';
import { validateScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';
import type { Sysfs } from '../src/memory/sysfs.ts';
import { defaultSysfs } from '../src/memory/sysfs.ts';

function check(vma: Partial<Vma>, sysfs: Partial<Sysfs> = {}): boolean {
  const k = new Kernel({ hpagePmdNr: 8, sysfs: { ...defaultSysfs(8), shmem_enabled: 'always', ...sysfs } });
  k.createInode('f', true, 64);
  k.createInode('regular', false, 64);
  const a = { k } as Actor;
  return khugepagedVmaCheck(a, { start: 0, end: 16, flags: VM.READ | VM.WRITE | VM.SHARED, pgoff: 0, file: 0, ...vma });
}

describe('hugepage_vma_check + shmem_huge_enabled', () => {
  it("the seed's shmem rule: (vm_start >> PAGE_SHIFT) - vm_pgoff must be HPAGE_PMD_NR aligned", () => {
    expect(check({ start: 0, pgoff: 0 })).toBe(true);
    expect(check({ start: 8, end: 24, pgoff: 0 })).toBe(true);
    expect(check({ start: 8, end: 24, pgoff: 8 })).toBe(true);
    expect(check({ start: 8, end: 24, pgoff: 4 })).toBe(false);
    expect(check({ start: 4, end: 20, pgoff: 0 })).toBe(false);
  });
  it('VM_NOHUGEPAGE excludes; with enabled=madvise only VM_HUGEPAGE VMAs qualify; enabled=never needs VM_HUGEPAGE', () => {
    expect(check({ flags: VM.READ | VM.NOHUGEPAGE })).toBe(false);
    expect(check({ flags: VM.READ | VM.HUGEPAGE | VM.NOHUGEPAGE })).toBe(false);
    expect(check({}, { enabled: 'madvise' })).toBe(false);
    expect(check({ flags: VM.READ | VM.HUGEPAGE }, { enabled: 'madvise' })).toBe(true);
    expect(check({ flags: VM.READ | VM.HUGEPAGE }, { enabled: 'never' })).toBe(true);
  });
  it('shmem_enabled: never/deny refuse, always/force accept, advise needs VM_HUGEPAGE, within_size needs i_size ≥ HPAGE_PMD_SIZE', () => {
    expect(check({}, { shmem_enabled: 'never' })).toBe(false);
    expect(check({}, { shmem_enabled: 'deny' })).toBe(false);
    expect(check({}, { shmem_enabled: 'force' })).toBe(true);
    expect(check({}, { shmem_enabled: 'advise' })).toBe(false);
    expect(check({ flags: VM.READ | VM.HUGEPAGE }, { shmem_enabled: 'advise' })).toBe(true);
    expect(check({}, { shmem_enabled: 'within_size' })).toBe(true);
  });
  it('within_size below HPAGE_PMD_SIZE falls through to advise (no break in shmem_huge_enabled): a VM_HUGEPAGE vma qualifies', () => {
    const k = new Kernel({ hpagePmdNr: 8, sysfs: { ...defaultSysfs(8), shmem_enabled: 'within_size' } });
    k.createInode('small', true, 4);
    const a = { k } as Actor;
    const vma = { start: 0, end: 8, flags: VM.READ | VM.WRITE | VM.SHARED, pgoff: 0, file: 0 };
    expect(khugepagedVmaCheck(a, vma)).toBe(false);
    expect(khugepagedVmaCheck(a, { ...vma, flags: vma.flags | VM.HUGEPAGE })).toBe(true);
  });
  it('anonymous VMAs and non-shmem files are not collapsed here (khugepaged_scan_pmd is not in the seeds)', () => {
    expect(check({ file: -1 })).toBe(false);
    expect(check({ file: 1 })).toBe(false);
  });
  it('an unaligned shmem VMA is left alone by khugepaged: no scan, no collapse', async () => {
    const base = {
      name: 'vma-check', hpage_pmd_nr: 4, sysfs: { shmem_enabled: 'always' },
      variants: ['collapse_shmem_clear_holes', 'collapse_shmem_rollback_nrpages', 'collapse_shmem_stop_if_truncated'],
      files: [{ name: 'f', size: 0x8000, populated: true }],
      actors: [{ kind: 'khugepaged', id: 'khugepaged', full_scans: 2 }],
    };
    const aligned = await validateScenario({ ...base, mms: [{ name: 'm', vmas: [{ start: 0x4000, size: 0x8000, file: 'f', pgoff: 0 }] }] }, 'aligned');
    const unaligned = await validateScenario({ ...base, mms: [{ name: 'm', vmas: [{ start: 0x5000, size: 0x8000, file: 'f', pgoff: 0 }] }] }, 'unaligned');
    const a = run(aligned);
    const u = run(unaligned);
    expect(a.verdict).toBe('ok');
    expect(a.kernel.khugepaged.pages_collapsed).toBe(2);
    expect(u.verdict).toBe('ok');
    expect(u.kernel.khugepaged.pages_collapsed).toBe(0);
    // hugepage_vma_check refuses it at mmap too (transhuge_vma_suitable): khugepaged_enter_vma
    // never registered the mm, so khugepaged never scans — it waits for work, idle
    expect(u.kernel.khugepagedMmSlots).toEqual([]);
    expect(u.kernel.khugepaged.full_scans).toBe(0);
    expect(u.actors[0]!.outcome).toBe('idle');
  });
});
