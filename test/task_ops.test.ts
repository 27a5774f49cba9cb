// The scenario language a kernel test needs (issue 17, items 6-8): madvise behaviours and
// mprotect that change or split VMAs, munmap of part of a VMA, khugepaged's mm registration
// (khugepaged_enter), a sysfs write and a wait as task operations.
import { describe, expect, it } from 'vitest';
import { ScenarioError, validateScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';
import { explore } from '../src/explore/explore.ts';
import { VM, pmdKind } from '../src/memory/mm.ts';

const RW_SHARED = ['VM_READ', 'VM_WRITE', 'VM_SHARED'];

async function scenario(ops: unknown[], extra: Record<string, unknown> = {}) {
  return validateScenario({
    name: 'task-ops', hpage_pmd_nr: 4,
    files: [{ name: 'f', size: 0x8000, populated: true }],
    mms: [{ name: 'm', vmas: [{ start: 0, size: 0x8000, file: 'f', flags: RW_SHARED }, { start: 0x10000, size: 0x8000 }] }],
    actors: [{ kind: 'task', id: 'T', mm: 'm', ops }],
    ...extra,
  }, '<test>');
}

const vmas = (r: ReturnType<typeof run>) => r.kernel.mmByName('m')!.vmas.map((v) => ({ start: v.start, end: v.end, flags: v.flags, pgoff: v.pgoff }));

describe('madvise(MADV_HUGEPAGE / MADV_NOHUGEPAGE)', () => {
  it('splits the VMA at the range, sets the flag, merges back when it is cleared again', async () => {
    const r = run(await scenario([{ madvise: { start: 0x1000, size: 0x2000, advice: 'MADV_HUGEPAGE' } }]), { seed: 1 });
    expect(r.verdict).toBe('ok');
    expect(r.actors[0]!.results).toEqual(['madvise(0x1000, 0x2000, MADV_HUGEPAGE) = 0']);
    const base = VM.READ | VM.WRITE | VM.SHARED;
    expect(vmas(r).slice(0, 3)).toEqual([
      { start: 0, end: 1, flags: base, pgoff: 0 },
      { start: 1, end: 3, flags: base | VM.HUGEPAGE, pgoff: 1 },
      { start: 3, end: 8, flags: base, pgoff: 3 },
    ]);
    const n = run(await scenario([
      { madvise: { start: 0x1000, size: 0x2000, advice: 'MADV_HUGEPAGE' } },
      { madvise: { start: 0x1000, size: 0x2000, advice: 'MADV_NOHUGEPAGE' } },
      { madvise: { start: 0x0, size: 0x8000, advice: 'MADV_HUGEPAGE' } },
    ]), { seed: 1 });
    expect(vmas(n)[0]).toEqual({ start: 0, end: 8, flags: base | VM.HUGEPAGE, pgoff: 0 });
  });

  it('splitting a VMA inside a huge pmd splits the pmd first (vma_adjust_trans_huge); an unchanged VMA is not split', async () => {
    const anon = { files: [], mms: [{ name: 'm', vmas: [{ start: 0, size: 0x8000, flags: ['VM_READ', 'VM_WRITE', 'VM_HUGEPAGE'] }] }] };
    const r = run(await scenario([{ write: 0 }, { madvise: { start: 0x1000, size: 0x1000, advice: 'MADV_NOHUGEPAGE' } }], anon), { seed: 1 });
    expect(r.verdict).toBe('ok');
    const mm = r.kernel.mmByName('m')!;
    expect(mm.kindAt(0)).toBe('pte_table');
    expect(r.kernel.vmstat.get('thp_split_pmd')).toBe(1);
    expect(vmas(r).map((v) => [v.start, v.end])).toEqual([[0, 1], [1, 2], [2, 8]]);
    // MADV_HUGEPAGE of a VMA that already has it changes nothing: no split
    const same = run(await scenario([{ write: 0 }, { madvise: { start: 0x1000, size: 0x1000, advice: 'MADV_HUGEPAGE' } }], anon), { seed: 1 });
    expect(same.kernel.mmByName('m')!.kindAt(0)).toBe('huge');
    expect(vmas(same)).toHaveLength(1);
    // mprotect adding PROT_EXEC inside a huge pmd splits it too (write is not taken away)
    const x = run(await scenario([{ write: 0 }, { mprotect: { start: 0x1000, size: 0x1000, prot: ['PROT_READ', 'PROT_WRITE', 'PROT_EXEC'] } }], anon), { seed: 1 });
    expect(x.kernel.mmByName('m')!.kindAt(0)).toBe('pte_table');
    expect([...x.kernel.mmByName('m')!.pmdAt(0).pteWritable]).toEqual([1, 1, 1, 1]);
  });

  it('a range not wholly mapped returns ENOMEM (the mapped part still changes)', async () => {
    const r = run(await scenario([{ madvise: { start: 0x6000, size: 0x4000, advice: 'MADV_NOHUGEPAGE' } }]), { seed: 1 });
    expect(r.actors[0]!.results).toEqual(['madvise(0x6000, 0x4000, MADV_NOHUGEPAGE) = -1 ENOMEM']);
    expect(vmas(r).find((v) => v.start === 6)!.flags & VM.NOHUGEPAGE).toBeTruthy();
  });
});

describe("khugepaged's mm registration (khugepaged_enter)", () => {
  const khugepaged = { kind: 'khugepaged', id: 'kh', full_scans: 1 };
  it('an mm never registered is never scanned: khugepaged waits for work, idle, not deadlocked', async () => {
    // enabled=madvise, no VM_HUGEPAGE: mmap did not register the mm
    const s = await scenario([{ read: 0 }], { sysfs: { enabled: 'madvise', shmem_enabled: 'advise' }, actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ read: 0 }] }, khugepaged] });
    const r = run(s, { seed: 1 });
    expect(r.verdict).toBe('ok');
    expect(r.kernel.khugepaged.full_scans).toBe(0);
    expect(r.kernel.khugepagedMmSlots).toEqual([]);
    expect(r.actors[1]!.outcome).toBe('idle');
  });

  it('MADV_HUGEPAGE registers it, and khugepaged then collapses (wait: two full scans, as the selftest)', async () => {
    const s = await scenario([
      { madvise: { start: 0, size: 0x8000, advice: 'MADV_HUGEPAGE' } },
      { wait: { khugepaged_full_scans: 2 } },
    ], { sysfs: { enabled: 'madvise', shmem_enabled: 'advise', khugepaged: { scan_sleep_millisecs: 0 } } });
    const r = run({ ...s, actors: [...s.actors, { kind: 'khugepaged', id: 'kh', full_scans: 2 }] } as typeof s, { seed: 1 });
    expect(r.verdict).toBe('ok');
    expect(r.kernel.khugepagedMmSlots).toEqual([r.kernel.mmByName('m')!.id]);
    expect(r.kernel.khugepaged.pages_collapsed).toBe(2);
    expect(r.kernel.vmstat.get('nr_shmem_hugepages')).toBe(2);
  });

  it('at the start, mmap registered every mm with an eligible VMA (enabled=always); fork registers the child of one', async () => {
    const s = await scenario([{ fork: 'c' }], { sysfs: { shmem_enabled: 'always' }, actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ fork: 'c' }] }, khugepaged] });
    const r = run(s, { seed: 1 });
    expect(r.verdict).toBe('ok');
    expect(r.kernel.khugepagedMmSlots.map((id) => r.kernel.mms[id]!.name)).toEqual(['m', 'c']);
  });
});

describe('MADV_DONTNEED and munmap of part of a VMA', () => {
  const anonHuge = { files: [], mms: [{ name: 'm', vmas: [{ start: 0, size: 0x8000 }] }] };
  it('MADV_DONTNEED of one page of a huge anonymous pmd splits it and zaps that pte only; the table stays', async () => {
    const s = await scenario([{ write: 0 }, { write: 0x2000 }, { madvise: { start: 0x1000, size: 0x1000, advice: 'MADV_DONTNEED' } }, { read: 0x2000 }], anonHuge);
    const r = run(s, { seed: 1 });
    expect(r.verdict).toBe('ok');
    const mm = r.kernel.mmByName('m')!;
    expect(pmdKind(mm.pmdAt(0).state)).toBe('pte_table');
    expect(mm.pmdAt(0).ptes.at(1)).toBeLessThan(0);
    expect(mm.pmdAt(0).ptes.at(0)).toBeGreaterThanOrEqual(0);
    expect(r.kernel.vmstat.get('thp_split_pmd')).toBe(1);
  });

  it('munmap of one page of a pte-mapped range zaps only it; the table is freed only once no VMA covers it', async () => {
    const s = await scenario([{ write: 0x10000 }, { write: 0x11000 }, { munmap: { start: 0x11000, size: 0x1000 } }, { read: 0x10000 }],
      { sysfs: { enabled: 'never' } });
    const r = run(s, { seed: 1 });
    expect(r.verdict).toBe('ok');
    const mm = r.kernel.mmByName('m')!;
    expect(pmdKind(mm.pmdAt(4).state)).toBe('pte_table');
    expect(mm.rss.MM_ANONPAGES).toBe(1);
    const all = run(await scenario([{ write: 0x10000 }, { munmap: { start: 0x10000, size: 0x4000 } }], { sysfs: { enabled: 'never' } }), { seed: 1 });
    expect(all.kernel.mmByName('m')!.kindAt(4)).toBe('none');
    expect(all.kernel.mmByName('m')!.nr_ptes).toBe(0);
  });
});

describe('MADV_PAGEOUT', () => {
  it('swaps out the shmem pages mapped once in the range (reclaim_pages → shrink_page_list); a later load swaps one back in', async () => {
    const r = run(await scenario([{ read: 0 }, { write: 0x1000 }, { madvise: { start: 0, size: 0x4000, advice: 'MADV_PAGEOUT' } }, { read: 0x1000 }]), { seed: 1 });
    expect(r.verdict).toBe('ok');
    expect(r.actors[0]!.results).toEqual(['madvise(0x0, 0x4000, MADV_PAGEOUT) = 0']);
    const f = r.kernel.inodeByName('f')!;
    expect(f.swapped).toBe(1); // offset 0 in swap; offset 1 swapped in again by the load
    expect(f.mapping.nrpages).toBe(7);
  });
  it('leaves a page mapped by two mms alone (page_mapcount != 1)', async () => {
    const s = await scenario([{ read: 0 }, { wait: { actor: 'U' } }, { madvise: { start: 0, size: 0x1000, advice: 'MADV_PAGEOUT' } }], {
      mms: [{ name: 'm', vmas: [{ start: 0, size: 0x8000, file: 'f', flags: RW_SHARED }] }, { name: 'm2', vmas: [{ start: 0, size: 0x8000, file: 'f', flags: RW_SHARED }] }],
      actors: [
        { kind: 'task', id: 'T', mm: 'm', ops: [{ read: 0 }, { wait: { actor: 'U' } }, { madvise: { start: 0, size: 0x1000, advice: 'MADV_PAGEOUT' } }] },
        { kind: 'task', id: 'U', mm: 'm2', ops: [{ read: 0 }] },
      ],
    });
    const r = run(s, { seed: 1 });
    expect(r.verdict).toBe('ok');
    expect(r.kernel.inodeByName('f')!.swapped).toBe(0);
  });
});

describe('MADV_REMOVE', () => {
  it('punches the file range behind the mapping', async () => {
    const r = run(await scenario([{ read: 0x2000 }, { madvise: { start: 0x2000, size: 0x2000, advice: 'MADV_REMOVE' } }]), { seed: 1 });
    expect(r.verdict).toBe('ok');
    expect(r.actors[0]!.results).toEqual(['madvise(0x2000, 0x2000, MADV_REMOVE) = 0']);
    expect(r.kernel.inodeByName('f')!.mapping.nrpages).toBe(6);
  });
  it('EACCES on a private or read-only mapping, EINVAL on anonymous memory', async () => {
    const s = await scenario([{ madvise: { start: 0x10000, size: 0x1000, advice: 'MADV_REMOVE' } }]);
    expect(run(s, { seed: 1 }).actors[0]!.results).toEqual(['madvise(0x10000, 0x1000, MADV_REMOVE) = -1 EINVAL']);
    const ro = await scenario([{ madvise: { start: 0, size: 0x1000, advice: 'MADV_REMOVE' } }],
      { mms: [{ name: 'm', vmas: [{ start: 0, size: 0x8000, file: 'f', flags: ['VM_READ', 'VM_SHARED'] }] }] });
    expect(run(ro, { seed: 1 }).actors[0]!.results).toEqual(['madvise(0x0, 0x1000, MADV_REMOVE) = -1 EACCES']);
  });
});

describe('mprotect', () => {
  it('taking write away write-protects the ptes of the range only, and a later store COWs / faults again', async () => {
    const s = await scenario([{ write: 0x10000 }, { write: 0x11000 }, { mprotect: { start: 0x11000, size: 0x1000, prot: ['PROT_READ'] } }, { write: 0x10000 }],
      { sysfs: { enabled: 'never' } });
    const r = run(s, { seed: 1 });
    expect(r.verdict).toBe('ok');
    expect(r.actors[0]!.results).toEqual(['mprotect(0x11000, 0x1000, PROT_READ) = 0']);
    const mm = r.kernel.mmByName('m')!;
    expect(mm.pmdAt(4).pteWritable.at(0)).toBe(1);
    expect(mm.pmdAt(4).pteWritable.at(1)).toBe(0);
    expect(mm.findVma(0x11)!.flags & VM.WRITE).toBe(0);
  });
  it('a store to the now read-only part is SIGSEGV; PROT_NONE faults a load', async () => {
    const w = run(await scenario([{ write: 0x10000 }, { mprotect: { start: 0x10000, size: 0x4000, prot: ['PROT_READ'] } }, { write: 0x10000 }]), { seed: 1 });
    expect(w.actors[0]!.outcome).toBe('SIGSEGV');
    const n = run(await scenario([{ mprotect: { start: 0x0, size: 0x1000, prot: 'PROT_NONE' } }, { read: 0 }]), { seed: 1 });
    expect(n.actors[0]!.outcome).toBe('SIGSEGV');
  });
  it('of part of a huge anonymous pmd: split first, then the range write-protected', async () => {
    const s = await scenario([{ write: 0x10000 }, { mprotect: { start: 0x10000, size: 0x1000, prot: ['PROT_READ'] } }],
      { mms: [{ name: 'm', vmas: [{ start: 0x10000, size: 0x8000 }] }], files: [] });
    const r = run(s, { seed: 1 });
    expect(r.verdict).toBe('ok');
    const mm = r.kernel.mmByName('m')!;
    expect(mm.kindAt(4)).toBe('pte_table');
    expect([...mm.pmdAt(4).pteWritable]).toEqual([0, 1, 1, 1]);
  });
});

describe('sysfs writes and waits', () => {
  it('a write changes the tunable for what follows; an out-of-range one is -EINVAL and changes nothing (one write per file, in sysfs order)', async () => {
    const r = run(await scenario([{ sysfs: { enabled: 'never', khugepaged: { max_ptes_none: 9, pages_to_scan: 8 } } }]), { seed: 1 });
    expect(r.actors[0]!.results).toEqual([
      'write("/sys/kernel/mm/transparent_hugepage/enabled", "never") = 6',
      'write("/sys/kernel/mm/transparent_hugepage/khugepaged/pages_to_scan", "8") = 2',
      'write("/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none", "9") = -1 EINVAL',
    ]);
    expect(r.kernel.sysfs.enabled).toBe('never');
    expect(r.kernel.sysfs.khugepaged.max_ptes_none).toBe(3);
    expect(r.kernel.sysfs.khugepaged.pages_to_scan).toBe(8);
  });

  it('waits for another actor to finish, and for simulated time', async () => {
    const s = await scenario([{ wait: { actor: 'U' } }, { read: 0 }], {
      actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ wait: { actor: 'U' } }, { read: 0 }] }, { kind: 'task', id: 'U', mm: 'm', ops: [{ write: 0 }, { wait: { ms: 5 } }] }],
    });
    for (const seed of [1, 2, 3, 4]) {
      const r = run(s, { seed });
      expect(r.verdict).toBe('ok');
      expect(r.time_ns).toBeGreaterThanOrEqual(5_000_000);
    }
    // every schedule: T's load comes after U's store
    const e = explore(s, { strategy: 'dfs' });
    expect(e.complete).toBe(true);
    expect(e.verdicts.violation ?? 0).toBe(0);
  });

  it('refuses a wait for an actor that does not exist, or for itself, naming the field', async () => {
    await expect(scenario([{ wait: { actor: 'nobody' } }])).rejects.toThrow(/actors\[0\]\.ops\[0\]\.wait\.actor: no actor with id 'nobody'/);
    await expect(scenario([{ wait: { actor: 'T' } }])).rejects.toThrow(ScenarioError);
    await expect(scenario([{ wait: { hours: 1 } }])).rejects.toThrow(/ops\[0\]\.wait: expected one of/);
    await expect(scenario([{ madvise: { start: 0, size: 0x1000, advice: 'MADV_FREE' } }])).rejects.toThrow(/ops\[0\]\.madvise\.advice: expected one of MADV_HUGEPAGE/);
    await expect(scenario([{ mprotect: { start: 0, size: 0x1000, prot: ['PROT_SEM'] } }])).rejects.toThrow(/ops\[0\]\.mprotect\.prot: expected PROT_NONE or a list/);
  });
});
