// MADV_COLLAPSE on shmem (seed 002): the synchronous collapse and pmd install, its
// independence from the sysfs knobs, range clamping, every errno path, the race with
// khugepaged and another caller, and the CLI's strace-like result line.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { loadScenario, validateScenario } from '../src/scenario/load.ts';
import { readReplay } from '../src/cli/replay.ts';
import { run } from '../src/sched/run.ts';
import { madviseCollapseErrno } from '../machines/task.ts';

const FIXES = ['collapse_shmem_clear_holes', 'collapse_shmem_rollback_nrpages', 'collapse_shmem_stop_if_truncated', 'retract_page_tables_test_exit', 'collapse_shmem_compound_check'];

/** One task on a 2-extent shmem mapping: the given ops, then what madvise returned. */
async function scenario(ops: unknown[], extra: Record<string, unknown> = {}, flags = ['VM_READ', 'VM_WRITE', 'VM_SHARED']) {
  return validateScenario({
    name: 'madvise', hpage_pmd_nr: 4, variants: FIXES,
    files: [{ name: 'f', size: 0x8000 }],
    mms: [{ name: 'm1', vmas: [{ start: 0, size: 0x8000, file: 'f', flags }] }],
    actors: [{ kind: 'task', id: 'T1', mm: 'm1', ops }],
    ...extra,
  }, 'inline');
}
const madviseResults = (r: ReturnType<typeof run>) => r.actors.find((a) => a.id === 'T1')!.results;

describe('madvise(MADV_COLLAPSE)', () => {
  it('collapses synchronously and installs the caller\'s pmds, ignoring shmem_enabled=never and max_ptes_none=0', async () => {
    const s = await loadScenario('examples/madvise-collapse.yaml');
    const r = run(s);
    expect(r.verdict).toBe('ok');
    expect(madviseResults(r)).toEqual(['madvise(0x0, 0x8000, MADV_COLLAPSE) = 0']);
    const mm = r.kernel.mmByName('m1')!;
    expect([mm.kindAt(0), mm.kindAt(1)]).toEqual(['huge', 'huge']);
    expect(r.kernel.vmstat.get('nr_shmem_hugepages')).toBe(2);
    expect(r.kernel.sysfs.shmem_enabled).toBe('never');
  });

  it('VM_NOHUGEPAGE is respected: -1 EINVAL, nothing collapsed', async () => {
    const r = run(await scenario([{ write: 0 }, { madvise_collapse: { start: 0, size: 0x4000 } }], {}, ['VM_READ', 'VM_WRITE', 'VM_SHARED', 'VM_NOHUGEPAGE']));
    expect(madviseResults(r)[0]).toMatch(/= -1 EINVAL/);
    expect(r.kernel.vmstat.get('thp_collapse_alloc')).toBe(0);
  });

  it('clamps the range to whole aligned hugepages: a range covering none succeeds without collapsing', async () => {
    const r = run(await scenario([{ write: 0x1000 }, { madvise_collapse: { start: 0x1000, size: 0x6000 } }]));
    expect(madviseResults(r)).toEqual(['madvise(0x1000, 0x6000, MADV_COLLAPSE) = 0']);
    expect(r.kernel.vmstat.get('thp_collapse_alloc')).toBe(0);
    const r2 = run(await scenario([{ write: 0x5000 }, { madvise_collapse: { start: 0x1000, size: 0x7000 } }]));
    expect(madviseResults(r2)[0]).toMatch(/= 0$/);
    expect(r2.kernel.mmByName('m1')!.kindAt(1)).toBe('huge'); // only [0x4000, 0x8000) was whole
    expect(r2.kernel.mmByName('m1')!.kindAt(0)).not.toBe('huge');
  });

  it('a range already PMD-mapped counts as success', async () => {
    const r = run(await scenario([{ write: 0 }, { madvise_collapse: { start: 0, size: 0x4000 } }, { madvise_collapse: { start: 0, size: 0x4000 } }]));
    expect(madviseResults(r)).toEqual(['madvise(0x0, 0x4000, MADV_COLLAPSE) = 0', 'madvise(0x0, 0x4000, MADV_COLLAPSE) = 0']);
    expect(r.kernel.vmstat.get('thp_collapse_alloc')).toBe(1);
  });

  it('after khugepaged collapsed the extent and retracted the page table (pmd none), MADV_COLLAPSE installs the pmd directly', async () => {
    const s = await validateScenario({
      name: 'after-khugepaged', hpage_pmd_nr: 4, variants: FIXES, sysfs: { shmem_enabled: 'always' },
      files: [{ name: 'f', size: 0x4000, populated: true }],
      mms: [{ name: 'm1', vmas: [{ start: 0, size: 0x4000, file: 'f', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED', 'VM_HUGEPAGE'] }] }],
      actors: [
        { kind: 'khugepaged', id: 'khugepaged', full_scans: 1 },
        { kind: 'task', id: 'T1', mm: 'm1', ops: [{ madvise_collapse: { start: 0, size: 0x4000 } }] },
      ],
    }, 'inline');
    // khugepaged runs to the end first (its schedule alone, as a forced prefix), then the task
    const first = run({ ...s, actors: [s.actors[0]!, { ...s.actors[1]!, ops: [] }] as typeof s.actors }).schedule.filter((d) => d.actor === 'khugepaged');
    const r = run(s, { schedule: first, continueAfterSchedule: true });
    const mm = r.kernel.mmByName('m1')!;
    expect(r.kernel.khugepaged.pages_collapsed).toBe(1);
    expect(madviseResults(r)).toEqual(['madvise(0x0, 0x4000, MADV_COLLAPSE) = 0']);
    expect(mm.kindAt(0)).toBe('huge');
    expect(r.kernel.vmstat.get('thp_collapse_alloc')).toBe(1); // nothing allocated: the pmd was installed directly
  });

  it('every errno path: ENOMEM, EBUSY, EAGAIN, EINVAL', async () => {
    const ops = [{ write: 0 }, { madvise_collapse: { start: 0, size: 0x4000 } }];
    const enomem = run(await scenario(ops, { inject: { alloc_huge_page: 1 } }));
    expect(madviseResults(enomem)[0]).toMatch(/= -1 ENOMEM \(last: SCAN_ALLOC_HUGE_PAGE_FAIL\)$/);
    // the task's own page must be charged first: a charge failure rate that lets the write through
    let ebusy = '';
    for (let seed = 1; seed <= 50 && !ebusy; seed++) {
      const r = run(await scenario(ops, { inject: { mem_cgroup_charge: 0.5 } }), { seed });
      ebusy = madviseResults(r).find((x) => /EBUSY/.test(x)) ?? '';
    }
    expect(ebusy).toMatch(/= -1 EBUSY \(last: SCAN_CGROUP_CHARGE_FAIL\)$/);
    const eagain = run(await scenario(ops, { inject: { isolate_lru_page: 1 } }));
    expect(madviseResults(eagain)[0]).toMatch(/= -1 EAGAIN \(last: SCAN_DEL_PAGE_LRU\)$/);
    expect(madviseCollapseErrno('SCAN_EXCEED_NONE_PTE')).toBe('EBUSY');
    for (const r of ['SCAN_PAGE_COUNT', 'SCAN_PAGE_LOCK', 'SCAN_PAGE_LRU', 'SCAN_DEL_PAGE_LRU'] as const) expect(madviseCollapseErrno(r)).toBe('EAGAIN');
    for (const r of ['SCAN_PAGE_COMPOUND', 'SCAN_FAIL', 'SCAN_TRUNCATED', 'SCAN_VMA_CHECK'] as const) expect(madviseCollapseErrno(r)).toBe('EINVAL');
    expect(madviseCollapseErrno('SCAN_ALLOC_HUGE_PAGE_FAIL')).toBe('ENOMEM');
    expect(madviseCollapseErrno('SCAN_CGROUP_CHARGE_FAIL')).toBe('EBUSY');
  });

  for (const name of ['madvise-collapse-vs-khugepaged', 'madvise-collapse-two-callers']) {
    it(`${name}: over 1,500 schedules every invariant holds, at most one context builds the huge page, and losers exit cleanly`, async () => {
      const s = await loadScenario(`examples/${name}.yaml`);
      const outcomes = new Set<string>();
      let built = 0;
      for (let seed = 1; seed <= 1500; seed++) {
        const r = run(s, { seed, record: false });
        expect(r.verdict).toBe('ok');
        const huge = r.kernel.vmstat.get('nr_shmem_hugepages');
        expect(huge).toBeLessThanOrEqual(1);
        built += huge;
        for (const a of r.actors) for (const x of a.results) outcomes.add(x.replace(/madvise\([^)]*\) = /, ''));
      }
      expect(built).toBeGreaterThan(0);
      expect(outcomes.has('0')).toBe(true);
      // the loser's results are the clean exits the seed predicts
      for (const o of outcomes) expect(o).toMatch(/^(0|-1 (EAGAIN|EINVAL) \(last: SCAN_(PAGE_COMPOUND|PAGE_COUNT|PAGE_LOCK|PAGE_LRU|PAGE_NULL)\))$/);
      expect([...outcomes].some((o) => /PAGE_COMPOUND|PAGE_COUNT|PAGE_LOCK/.test(o))).toBe(true);
    });
  }

  it('over collapse_shmem as posted, a losing context trips VM_BUG_ON(PageTransCompound); the replay reproduces it', async () => {
    const s = await loadScenario('examples/madvise-collapse-as-posted-compound.yaml');
    const r = run(s);
    expect(r.verdict).toBe('violation');
    expect(r.violations[0]!.message).toMatch(/VM_BUG_ON_PAGE\(PageTransCompound\(page\)\)/);
    const rp = await readReplay('examples/madvise-collapse-as-posted-compound.replay.json');
    expect(run(rp.scenario, { seed: rp.seed, schedule: rp.decisions }).traceHash).toBe(r.traceHash);
  });

  it('the CLI prints the result as strace would', () => {
    const out = spawnSync(process.execPath, ['bin/thpsim.js', 'run', 'examples/madvise-collapse.yaml'], { encoding: 'utf8' }).stdout;
    expect(out).toMatch(/\n {8}madvise\(0x0, 0x8000, MADV_COLLAPSE\) = 0\n/);
    const json = JSON.parse(spawnSync(process.execPath, ['bin/thpsim.js', 'run', 'examples/madvise-collapse.yaml', '--json'], { encoding: 'utf8' }).stdout);
    expect(json.actors[0].results).toEqual(['madvise(0x0, 0x8000, MADV_COLLAPSE) = 0']);
  });
});

describe('MADV_COLLAPSE and khugepaged on a regular file (READ_ONLY_THP_FOR_FS)', () => {
  it('reads the missing pages in, collapses into an nr_file_hugepages page, installs the pmd, keeps every invariant', async () => {
    const s = await loadScenario('examples/madvise-collapse-file.yaml');
    let zero = 0;
    let fileHuge = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const r = run(s, { seed, record: false });
      expect(r.verdict).toBe('ok');
      expect(r.kernel.vmstat.get('nr_shmem_hugepages')).toBe(0);
      fileHuge += r.kernel.vmstat.get('nr_file_hugepages');
      for (const a of r.actors) for (const x of a.results) if (/= 0$/.test(x)) zero++;
      // the store into read-only text is a SIGSEGV, never a write
      expect(r.actors.find((a) => a.id === 'T1')!.outcome).toBe('SIGSEGV');
    }
    expect(zero).toBeGreaterThan(0);
    expect(fileHuge).toBeGreaterThan(0);
  });

  it('a regular file without VM_EXEC is not eligible: -1 EINVAL', async () => {
    const s = await validateScenario({
      name: 'no-exec', hpage_pmd_nr: 4, config: { READ_ONLY_THP_FOR_FS: true },
      files: [{ name: 'text', shmem: false, size: 0x4000, populated: true }],
      mms: [{ name: 'm1', vmas: [{ start: 0, size: 0x4000, file: 'text', flags: ['VM_READ'] }] }],
      actors: [{ kind: 'task', id: 'T1', mm: 'm1', ops: [{ read: 0 }, { madvise_collapse: { start: 0, size: 0x4000 } }] }],
    }, 'inline');
    expect(madviseResults(run(s))[0]).toMatch(/= -1 EINVAL/);
  });

  it('scenario validation keeps regular files read-only', async () => {
    const base = { name: 'x', hpage_pmd_nr: 4, files: [{ name: 'text', shmem: false, size: 0x4000 }] };
    await expect(validateScenario({ ...base, mms: [{ name: 'm', vmas: [{ start: 0, size: 0x4000, file: 'text', flags: ['VM_READ', 'VM_WRITE'] }] }], actors: [{ kind: 'khugepaged', id: 'k' }] }, 'x.yaml'))
      .rejects.toThrow(/x\.yaml: mms\[0\]\.vmas\[0\]\.flags: 'text' is a regular file: only read-only mappings/);
    await expect(validateScenario({ ...base, mms: [{ name: 'm' }], actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ pwrite: { file: 'text', offset: 0 } }] }] }, 'x.yaml'))
      .rejects.toThrow(/actors\[0\]\.ops\[0\]\.pwrite\.file: 'text' is a regular file: only read\(2\) is modelled/);
  });
});
