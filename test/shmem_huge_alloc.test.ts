// shmem faults allocating a huge page directly (v4.8, "shmem: add huge pages support";
// issue 17, item 9): shmem_getpage_gfp's alloc_huge decision for each shmem_enabled
// setting, the compound page added to the page cache whole and mapped by pmd (or by pte),
// the fallbacks (thp_file_fallback), racing faults, truncation and hole punch explored
// completely at preemption bound 2, khugepaged and MADV_COLLAPSE meeting such pages — and
// CONFIG_READ_ONLY_THP_FOR_FS gating the collapse of a regular file.
import { describe, expect, it } from 'vitest';
import { loadScenario, validateScenario } from '../src/scenario/load.ts';
import { readReplay } from '../src/cli/replay.ts';
import { type RunResult, run } from '../src/sched/run.ts';
import { explore } from '../src/explore/explore.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import { SLOT_HOLE } from '../src/memory/address_space.ts';

const PAGE = 0x1000;
const FIXES = [
  'collapse_shmem_clear_holes', 'collapse_shmem_rollback_nrpages', 'collapse_shmem_stop_if_truncated', 'retract_page_tables_test_exit',
  'collapse_shmem_compound_check', 'collapse_shmem_no_freeze_new_page',
];
const SHARED = ['VM_READ', 'VM_WRITE', 'VM_SHARED'];

interface Setup {
  shmem_enabled?: string;
  /** File size in pages (default 8: two extents of HPAGE_PMD_NR 4). */
  pages?: number;
  /** The VMA: size in pages (default the file's), flags. */
  vmaPages?: number;
  flags?: string[];
  ops: unknown[];
  inject?: Record<string, number>;
  file?: Record<string, unknown>;
  actors?: Record<string, unknown>[];
}

/** One shmem file mapped shared by m1 at 0 (HPAGE_PMD_NR 4), one task running `ops`. */
async function scenario(o: Setup) {
  const pages = o.pages ?? 8;
  return validateScenario({
    name: 'shmem-huge', hpage_pmd_nr: 4, variants: FIXES,
    sysfs: o.shmem_enabled ? { shmem_enabled: o.shmem_enabled } : {},
    inject: o.inject ?? {},
    files: [{ name: 'f', size: pages * PAGE, ...o.file }],
    mms: [{ name: 'm1', vmas: [{ start: 0, size: (o.vmaPages ?? pages) * PAGE, file: 'f', flags: o.flags ?? SHARED }] }],
    actors: [{ kind: 'task', id: 'T1', mm: 'm1', ops: o.ops }, ...(o.actors ?? [])],
  }, 'inline');
}

const f = (k: Kernel) => k.inodeByName('f')!;
/** The head of the compound page at `index`, or -1 if the slot holds no huge page. */
function hugeAt(k: Kernel, index: number): number {
  const v = f(k).mapping.lookup(index);
  if (v < 0) return -1;
  const h = k.pages.compoundHead(v);
  return k.pages.order[h]! > 0 ? h : -1;
}
const vm = (r: RunResult, item: string) => r.kernel.vmstat.get(item as never);

/** The run kept every invariant, and every actor finished. */
function ok(r: RunResult): RunResult {
  expect(r.verdict, JSON.stringify(r.violations)).toBe('ok');
  expect(r.actors.every((a) => a.outcome === 'ok'), JSON.stringify(r.actors)).toBe(true);
  return r;
}

describe('shmem_getpage_gfp: alloc_huge or alloc_nohuge', () => {
  it('always: a fault into an empty extent allocates one compound page, adds every subpage, maps it by pmd', async () => {
    const r = ok(run(await scenario({ shmem_enabled: 'always', ops: [{ read: 0x1000 }, { write: 0x2000 }, { read: 0x3000 }] })));
    const k = r.kernel;
    const head = hugeAt(k, 0);
    expect(head).toBeGreaterThanOrEqual(0);
    expect(k.pages.order[head]).toBe(k.HPAGE_PMD_ORDER);
    expect(k.pages.index[head]).toBe(0);
    for (let i = 0; i < 4; i++) expect(f(k).mapping.lookup(i)).toBe(head + i);
    // the page cache's HPAGE_PMD_NR references, and the pmd's
    expect(k.pages.refcount[head]).toBe(4 + 1);
    expect([vm(r, 'thp_file_alloc'), vm(r, 'thp_file_fallback'), vm(r, 'thp_file_mapped')]).toEqual([1, 0, 1]);
    expect([vm(r, 'nr_shmem_hugepages'), vm(r, 'nr_shmem'), vm(r, 'nr_file_pages')]).toEqual([1, 4, 4]);
    expect([f(k).mapping.nrpages, f(k).alloced]).toEqual([4, 4]);
    const mm = k.mmByName('m1')!;
    expect(mm.kindAt(0)).toBe('huge');
    expect(mm.rss.MM_SHMEMPAGES).toBe(4);
    // cleared (clear_highpage of each subpage) but the one written through the pmd
    expect([0, 1, 3].map((i) => k.pages.data[head + i])).toEqual([0, 0, 0]);
    expect(k.pages.data[head + 2]).toBe(f(k).expected.get(2));
    // the steps, each atomic: the lockless extent check, the allocation, the insertion under the tree lock
    expect(r.schedule.map((d) => d.state).slice(1, 10)).toEqual([
      'page_fault.shmem_fault.getpage.find_lock_entry', 'page_fault.shmem_fault.getpage.huge_lookup',
      'page_fault.shmem_fault.getpage.alloc_hugepage', 'page_fault.shmem_fault.getpage.charge',
      'page_fault.shmem_fault.getpage.tree_lock', 'page_fault.shmem_fault.getpage.add_to_page_cache',
      'page_fault.shmem_fault.getpage.lru_add', 'page_fault.shmem_fault.getpage.clear', 'page_fault.shmem_fault.pmd_lock',
    ]);
  });

  it('never (the default) and deny: small pages, nothing huge', async () => {
    for (const shmem_enabled of [undefined, 'never', 'deny']) {
      const r = ok(run(await scenario({ shmem_enabled, ops: [{ read: 0x1000 }, { pwrite: { file: 'f', offset: 0x4000 } }] })));
      expect([vm(r, 'thp_file_alloc'), vm(r, 'thp_file_fallback'), vm(r, 'nr_shmem_hugepages')]).toEqual([0, 0, 0]);
      expect(r.kernel.mmByName('m1')!.kindAt(0)).toBe('pte_table');
      expect(r.schedule.some((d) => d.state.endsWith('huge_lookup'))).toBe(false);
      expect(f(r.kernel).mapping.nrpages).toBe(2);
    }
  });

  it('force: huge whatever the mount says; deny wins over everything', async () => {
    expect(vm(ok(run(await scenario({ shmem_enabled: 'force', ops: [{ read: 0 }] }))), 'thp_file_alloc')).toBe(1);
    expect(vm(ok(run(await scenario({ shmem_enabled: 'deny', flags: [...SHARED, 'VM_HUGEPAGE'], ops: [{ read: 0 }] }))), 'thp_file_alloc')).toBe(0);
  });

  it('advise: a fault in a VM_HUGEPAGE vma (SGP_HUGE) is huge; one without, and write(2), are not', async () => {
    const advised = ok(run(await scenario({ shmem_enabled: 'advise', flags: [...SHARED, 'VM_HUGEPAGE'], ops: [{ read: 0 }, { pwrite: { file: 'f', offset: 0x4000 } }] })));
    expect(vm(advised, 'thp_file_alloc')).toBe(1);
    expect([hugeAt(advised.kernel, 0) >= 0, hugeAt(advised.kernel, 4)]).toEqual([true, -1]);
    const plain = ok(run(await scenario({ shmem_enabled: 'advise', ops: [{ read: 0 }] })));
    expect(vm(plain, 'thp_file_alloc')).toBe(0);
  });

  it('VM_NOHUGEPAGE: shmem_fault passes SGP_NOHUGE, even with shmem_enabled=always', async () => {
    const r = ok(run(await scenario({ shmem_enabled: 'always', flags: [...SHARED, 'VM_NOHUGEPAGE'], ops: [{ read: 0 }] })));
    expect(vm(r, 'thp_file_alloc')).toBe(0);
    // but write(2) is not a fault: huge
    const w = ok(run(await scenario({ shmem_enabled: 'always', flags: [...SHARED, 'VM_NOHUGEPAGE'], ops: [{ pwrite: { file: 'f', offset: 0 } }] })));
    expect(vm(w, 'thp_file_alloc')).toBe(1);
  });

  it('within_size: i_size must reach HPAGE_PMD_SIZE and round_up(index, HPAGE_PMD_NR); else SGP_HUGE (the fallthrough to advise)', async () => {
    // 6 pages: index 1 rounds up to 4 ≤ 6 (huge); index 5 rounds up to 8 > 6 (small); index 4 rounds to 4 (huge,
    // reaching beyond i_size: its tail subpages are beyond EOF)
    const r = ok(run(await scenario({ shmem_enabled: 'within_size', pages: 6, vmaPages: 8, ops: [{ read: 0x1000 }, { read: 0x5000 }] })));
    expect(hugeAt(r.kernel, 0)).toBeGreaterThanOrEqual(0);
    expect(hugeAt(r.kernel, 5)).toBe(-1);
    expect(f(r.kernel).mapping.lookup(5)).toBeGreaterThanOrEqual(0);
    const beyond = ok(run(await scenario({ shmem_enabled: 'within_size', pages: 6, vmaPages: 8, ops: [{ read: 0x4000 }] })));
    expect(hugeAt(beyond.kernel, 4)).toBeGreaterThanOrEqual(0);
    expect(hugeAt(beyond.kernel, 7)).toBe(hugeAt(beyond.kernel, 4)); // cached beyond i_size, as v4.8 leaves it (the shrinklist's)
    // a file smaller than one huge page: never, but SGP_HUGE falls through to advise
    const small = ok(run(await scenario({ shmem_enabled: 'within_size', pages: 3, vmaPages: 4, ops: [{ read: 0 }] })));
    expect(vm(small, 'thp_file_alloc')).toBe(0);
    const hinted = ok(run(await scenario({ shmem_enabled: 'within_size', pages: 3, vmaPages: 4, flags: [...SHARED, 'VM_HUGEPAGE'], ops: [{ read: 0 }] })));
    expect(vm(hinted, 'thp_file_alloc')).toBe(1);
  });

  it('an extent with a page or a swap entry in it: shmem_alloc_hugepage returns NULL at once — small, no fallback counted', async () => {
    for (const file of [
      { populated: true, holes: [{ offset: 0x1000, size: 0x7000 }] },
      { populated: true, swapped: [{ offset: 0, size: 0x1000 }], holes: [{ offset: 0x1000, size: 0x7000 }] },
    ]) {
      const r = ok(run(await scenario({ shmem_enabled: 'always', file, ops: [{ read: 0x2000 }] })));
      expect([vm(r, 'thp_file_alloc'), vm(r, 'thp_file_fallback')]).toEqual([0, 0]);
      expect(r.schedule.map((d) => d.state)).toContain('page_fault.shmem_fault.getpage.huge_lookup');
      expect(r.schedule.map((d) => d.state)).not.toContain('page_fault.shmem_fault.getpage.alloc_hugepage');
    }
  });

  it('a vma that does not cover the aligned range: the huge page is allocated all the same, and mapped by pte', async () => {
    const r = ok(run(await scenario({ shmem_enabled: 'always', vmaPages: 2, ops: [{ read: 0x1000 }, { read: 0 }] })));
    expect(vm(r, 'thp_file_alloc')).toBe(1);
    expect([vm(r, 'thp_file_mapped'), r.kernel.mmByName('m1')!.kindAt(0)]).toEqual([0, 'pte_table']);
    expect(r.kernel.mmByName('m1')!.rss.MM_SHMEMPAGES).toBe(2);
  });

  it('write(2) into an empty extent: a huge page; the written subpage holds the data, the others zeroes; a fault then maps it by pmd', async () => {
    const r = ok(run(await scenario({ shmem_enabled: 'always', ops: [{ pwrite: { file: 'f', offset: 0x5000 } }, { read: 0x4000 }, { read: 0x5000 }] })));
    const head = hugeAt(r.kernel, 4);
    expect(head).toBeGreaterThanOrEqual(0);
    expect(r.kernel.pages.data[head + 1]).toBe(f(r.kernel).expected.get(5));
    expect([0, 2, 3].map((i) => r.kernel.pages.data[head + i])).toEqual([0, 0, 0]);
    expect(r.kernel.mmByName('m1')!.kindAt(1)).toBe('huge');
  });

  it('truncation: a huge page straddling the new i_size is zeroed beyond it and kept; one wholly beyond goes', async () => {
    const r = ok(run(await scenario({ shmem_enabled: 'always', ops: [{ read: 0 }, { read: 0x4000 }, { truncate: { file: 'f', size: 0x2000 } }, { read: 0x1000 }] })));
    const k = r.kernel;
    expect(hugeAt(k, 0)).toBeGreaterThanOrEqual(0);
    for (let i = 4; i < 8; i++) expect(f(k).mapping.lookup(i)).toBe(SLOT_HOLE);
    expect([vm(r, 'nr_shmem_hugepages'), vm(r, 'thp_file_alloc')]).toEqual([1, 2]);
    const gone = ok(run(await scenario({ shmem_enabled: 'always', ops: [{ read: 0 }, { truncate: { file: 'f', size: 0 } }] })));
    expect([vm(gone, 'nr_shmem_hugepages'), vm(gone, 'nr_shmem'), f(gone.kernel).alloced]).toEqual([0, 0, 0]);
  });
});

describe('fallbacks', () => {
  it('the huge allocation fails (shmem_alloc_hugepage injected): thp_file_fallback, and a small page', async () => {
    const r = ok(run(await scenario({ shmem_enabled: 'always', inject: { shmem_alloc_hugepage: 1 }, ops: [{ read: 0 }, { write: 0x1000 }] })));
    // the second fault finds the extent in use: no second attempt, no second fallback
    expect([vm(r, 'thp_file_alloc'), vm(r, 'thp_file_fallback'), vm(r, 'thp_file_fallback_charge')]).toEqual([0, 1, 0]);
    expect(hugeAt(r.kernel, 0)).toBe(-1);
    expect(r.kernel.mmByName('m1')!.kindAt(0)).toBe('pte_table');
    expect(f(r.kernel).mapping.nrpages).toBe(2);
  });

  it('the memcg charge of the huge page fails: thp_file_fallback and thp_file_fallback_charge, put_page, a small page', async () => {
    const s = await scenario({ shmem_enabled: 'always', inject: { mem_cgroup_charge: 0.5 }, ops: [{ read: 0 }] });
    let seen = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const r = run(s, { seed });
      expect(r.verdict).toBe('ok');
      if (vm(r, 'thp_file_fallback_charge') !== 1 || r.actors[0]!.outcome !== 'ok') continue;
      if (r.actors[0]!.results.length) continue;
      seen++;
      expect([vm(r, 'thp_file_alloc'), vm(r, 'thp_file_fallback'), vm(r, 'nr_shmem_hugepages')]).toEqual([0, 1, 0]);
      expect(f(r.kernel).mapping.nrpages).toBe(1);
      // the huge page went back to the allocator
      expect(Array.from({ length: r.kernel.pages.nr }, (_, p) => p).filter((p) => r.kernel.pages.isAllocated(p) && r.kernel.pages.order[p]! > 0)).toEqual([]);
    }
    expect(seen).toBeGreaterThan(0);
  });
});

describe('racing (dfs, preemption bound 2, complete)', () => {
  const dfs = async (name: string, ops: unknown[][], extra: Partial<Setup> = {}) => {
    const s = await validateScenario({
      name, hpage_pmd_nr: 4, variants: FIXES, sysfs: { shmem_enabled: 'always' }, inject: extra.inject ?? {},
      files: [{ name: 'f', size: 0x4000 }],
      mms: [{ name: 'm1', vmas: [{ start: 0, size: 0x4000, file: 'f', flags: SHARED }] }],
      actors: ops.map((o, i) => ({ kind: 'task', id: `T${i + 1}`, mm: 'm1', ops: o })),
    }, 'inline');
    const r = explore(s, { strategy: 'dfs', preemptionBound: 2, shrinkBudget: 0 });
    expect(r.complete).toBe(true);
    expect(r.violations).toEqual({});
    expect(r.verdicts).toEqual({ ok: r.schedules });
    return { s, r };
  };

  it('two tasks faulting the same empty extent: one huge page is added, the loser gets -EEXIST, falls back and maps the winner\'s', async () => {
    const { s } = await dfs('two-faults', [[{ read: 0x1000 }, { read: 0x3000 }], [{ write: 0x2000 }]]);
    // in every schedule at most one huge page ends in the cache, and every fault is mapped
    let eexist = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = ok(run(s, { seed }));
      expect(vm(r, 'nr_shmem_hugepages')).toBe(1);
      expect(vm(r, 'thp_file_alloc')).toBe(1);
      const add = r.schedule.filter((d) => d.state === 'page_fault.shmem_fault.getpage.add_to_page_cache').length;
      if (add > 1) eexist++;
    }
    expect(eexist).toBeGreaterThan(0);
  });

  it('a fault racing a truncation of its extent', async () => {
    await dfs('fault-vs-truncate', [[{ read: 0x1000 }, { read: 0x3000 }], [{ truncate: { file: 'f', size: 0x2000 } }, { truncate: { file: 'f', size: 0 } }]]);
  });

  it('a fault racing a hole punch of part of the extent, then of all of it', async () => {
    await dfs('fault-vs-punch', [[{ write: 0x1000 }, { read: 0x3000 }], [{ punch: { file: 'f', offset: 0x2000, size: 0x1000 } }, { punch: { file: 'f', offset: 0, size: 0x4000 } }]]);
  });

  it('faults and write(2) with the huge allocation or its charge failing at random', async () => {
    await dfs('fault-vs-write-fallback', [[{ read: 0x1000 }], [{ pwrite: { file: 'f', offset: 0x2000 } }]], { inject: { shmem_alloc_hugepage: 0.5, mem_cgroup_charge: 0.5 } });
  });
});

describe('khugepaged and MADV_COLLAPSE meeting a huge page a fault allocated', () => {
  it('khugepaged_scan_shmem: SCAN_PAGE_COMPOUND, nothing allocated for a collapse', async () => {
    const r = ok(run(await scenario({
      shmem_enabled: 'always', ops: [{ read: 0 }],
      actors: [{ kind: 'khugepaged', id: 'khugepaged', full_scans: 2 }],
    }), { strategy: 'guided', guide: [] }));
    expect(vm(r, 'thp_collapse_alloc')).toBe(0);
    expect(r.kernel.khugepaged.pages_collapsed).toBe(0);
  });

  it('MADV_COLLAPSE of a range already pmd-mapped by the fault: success, no new page', async () => {
    const r = ok(run(await scenario({ ops: [{ read: 0 }, { madvise_collapse: { start: 0, size: 0x4000 } }], shmem_enabled: 'always' })));
    expect(r.actors[0]!.results).toEqual(['madvise(0x0, 0x4000, MADV_COLLAPSE) = 0']);
    expect(vm(r, 'thp_collapse_alloc')).toBe(0);
  });

  it('finding: seed 000 as posted, a punch then a fault refill the extent with a huge page between scan and collapse_shmem: VM_BUG_ON_PAGE(PageTransCompound); the fix gives SCAN_PAGE_COMPOUND', async () => {
    const s = await loadScenario('examples/collapse-shmem-as-posted-huge-fault.yaml');
    const r = run(s);
    expect(r.verdict).toBe('violation');
    expect(r.violations[0]!.message).toMatch(/VM_BUG_ON_PAGE\(PageTransCompound\(page\)\)/);
    const rp = await readReplay('examples/collapse-shmem-as-posted-huge-fault.replay.json');
    expect(run(rp.scenario, { seed: rp.seed, schedule: rp.decisions }).traceHash).toBe(r.traceHash);
    // one preemption finds it; with collapse_shmem_compound_check nothing is found at two
    const asPosted = explore(s, { strategy: 'dfs', preemptionBound: 1, shrinkBudget: 0 });
    expect(asPosted.violations).toEqual({ collapse_shmem: expect.any(Number) });
    const fixed = explore({ ...s, variants: [...s.variants, 'collapse_shmem_compound_check'] }, { strategy: 'dfs', preemptionBound: 2, shrinkBudget: 0 });
    expect([fixed.complete, fixed.violations]).toEqual([true, {}]);
    expect(fixed.scanResults.SCAN_PAGE_COMPOUND).toBeGreaterThan(0);
  });
});

describe('the example', () => {
  it('examples/shmem-huge-fault.yaml: every schedule within preemption bound 1 keeps every invariant (2: 530,073 states, thpsim explore); huge pages made, fallen back from, mapped by pmd', async () => {
    const s = await loadScenario('examples/shmem-huge-fault.yaml');
    const r = explore(s, { strategy: 'dfs', preemptionBound: 1, shrinkBudget: 0 });
    expect([r.complete, r.violations]).toEqual([true, {}]);
    let alloc = 0;
    let fallback = 0;
    let pmd = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const x = ok(run(s, { seed }));
      alloc += vm(x, 'thp_file_alloc');
      fallback += vm(x, 'thp_file_fallback');
      pmd += vm(x, 'thp_file_mapped');
    }
    expect(alloc && fallback && pmd).toBeGreaterThan(0);
  });
});

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
