// Issue 18: no silent wrong answer. Each reproduction from the issue, as given.
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';
import { explore } from '../src/explore/explore.ts';

const base = (over: Record<string, unknown> = {}) => ({
  name: 'h', hpage_pmd_nr: 4,
  files: [{ name: 'f', size: 0x4000 }],
  mms: [{ name: 'm', vmas: [{ start: 0, size: 0x4000 }] }],
  actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ read: 0 }] }],
  ...over,
});
const refused = (over: Record<string, unknown>, re: RegExp) => expect(validateScenario(base(over), 's.yaml')).rejects.toThrow(re);

describe('addresses are 64-bit user addresses: never wrapped', () => {
  it('a store to 0x100001000 outside every VMA is a SIGSEGV, not a page at 0x0', async () => {
    const r = run(await validateScenario(base({ actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ write: '0x100001000' }] }] }), 's.yaml'), { seed: 1 });
    expect(r.actors[0]!.outcome).toBe('SIGSEGV');
    expect(r.kernel.mmByName('m')!.kindAt(0)).toBe('none');
  });
  it('a VMA of size 0x100004000 is 4 GiB + 16 KiB: a store at 0x100000000 is inside it', async () => {
    const s = await validateScenario(base({
      mms: [{ name: 'm', vmas: [{ start: 0, size: '0x100004000' }] }],
      actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ write: '0x100000000' }, { read: '0x100003000' }] }],
    }), 's.yaml');
    const r = run(s, { seed: 1 });
    expect(r.verdict).toBe('ok');
    expect(r.actors[0]!.outcome).toBe('ok');
    expect(r.kernel.mmByName('m')!.vmas[0]!.end).toBe(0x100004);
  });
  it('refuses an address beyond TASK_SIZE, a misaligned one in a short line, and a non-integer', async () => {
    await refused({ actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ read: '0xfffffffffffffffffffff000' }] }] }, /ops\[0\]\.read: 0xfffffffffffffffffffff000 is beyond the user address space/);
    await refused({ actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ read: '0x1001' }] }] }, /ops\[0\]\.read: must be page-aligned \(a multiple of 4096\), got 0x1001$/);
    await refused({ mms: [{ name: 'm', vmas: [{ start: 0.5, size: 0x1000 }] }] }, /vmas\[0\]\.start: expected a whole, non-negative number/);
    await refused({ mms: [{ name: 'm', vmas: [{ start: '0x7ffffffff000', size: '0x2000' }] }] }, /vmas\[0\]\.size: the VMA ends beyond the user address space/);
  });
});

describe('scenario mistakes are validation errors naming the field', () => {
  it('overlapping VMAs in one mm', () =>
    refused({ mms: [{ name: 'm', vmas: [{ start: 0, size: 0x4000 }, { start: 0x2000, size: 0x4000 }] }] }, /mms\[0\]\.vmas\[1\]: overlaps mms\[0\]\.vmas\[0\]/));
  it('duplicate mm names and duplicate file names', async () => {
    await refused({ mms: [{ name: 'm', vmas: [] }, { name: 'm', vmas: [] }] }, /mms\[1\]\.name: duplicate mm name 'm'/);
    await refused({ files: [{ name: 'f', size: 0x4000 }, { name: 'f', size: 0x1000 }] }, /files\[1\]\.name: duplicate file name 'f'/);
  });
  it('fork into an mm that already exists', () =>
    refused({ actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ fork: 'm' }] }] }, /actors\[0\]\.ops\[0\]\.fork: an mm named 'm' already exists/));
  it('truncate to a size beyond the file (only shrinking is modelled)', () =>
    refused({ actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ truncate: { file: 'f', size: 0x8000 } }] }] }, /ops\[0\]\.truncate\.size: only shrinking is modelled/));
  it('files totalling more than 16 GiB (2,000 empty 1 GiB files took 2.4 GB to set up; 10,000 would not fit in memory): refused at the file that passes it', async () => {
    const files = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `f${i}`, size: '0x40000000' }));
    await refused({ files: files(2000) }, /^s\.yaml: files\[16\]\.size: expected the files to total at most 0x400000000 bytes \(16 GiB\): each is modelled page by page \(the files up to this one total 0x440000000\)$/);
    await expect(validateScenario(base({ files: files(16) }), 's.yaml')).resolves.toBeDefined();
  });
  it('times beyond an unsigned int (a wait\'s ms, a shrinker\'s interval_us, khugepaged\'s sleeps): the simulated nanosecond clock printed 18014398509481.980469 s', async () => {
    await refused({ actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ wait: { ms: 9007199254740991 } }] }] }, /actors\[0\]\.ops\[0\]\.wait\.ms: expected at most 4294967295 ms \(msleep's unsigned int\)$/);
    await refused({ actors: [{ kind: 'huge_zero_page_shrinker', id: 'S', passes: 1, interval_us: 2 ** 32 }] }, /actors\[0\]\.interval_us: expected at most 4294967295 us/);
    await refused({ sysfs: { khugepaged: { scan_sleep_millisecs: 2 ** 32 } } }, /sysfs\.khugepaged\.scan_sleep_millisecs: expected at most 4294967295 \(the kernel reads an unsigned int\)$/);
    await expect(validateScenario(base({ sysfs: { khugepaged: { alloc_sleep_millisecs: 2 ** 32 - 1 } } }), 's.yaml')).resolves.toBeDefined();
  });
  it('shmem_reclaim targets beyond the file', () =>
    refused({ actors: [{ kind: 'shmem_reclaim', id: 'R', targets: [{ file: 'f', offset: 0x4000 }] }] }, /actors\[0\]\.targets\[0\]\.offset: expected an offset within the file/));
});

describe('no internal error on long ranges', () => {
  it('munmap, MADV_DONTNEED and mprotect of 1 GiB at HPAGE_PMD_NR 2 take a few steps (none pmds are skipped, not walked)', async () => {
    const s = await validateScenario(base({
      hpage_pmd_nr: 2, files: [],
      mms: [{ name: 'm', vmas: [{ start: 0, size: 0x40000000 }] }],
      actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [
        { write: '0x3fffe000' },
        { madvise: { start: 0, size: 0x40000000, advice: 'MADV_DONTNEED' } },
        { mprotect: { start: 0, size: 0x40000000, prot: ['PROT_READ'] } },
        { munmap: { start: 0, size: 0x40000000 } },
      ] }],
    }), 's.yaml');
    const r = run(s, { seed: 1 });
    expect(r.verdict).toBe('ok');
    expect(r.steps).toBeLessThan(100);
    expect(r.kernel.mmByName('m')!.vmas).toEqual([]);
  });

  it('munmap of the whole user address space (0x7ffffffff000 bytes) forgets the expected data of the VMAs it unmaps, not of every vpn (a fuzzed scenario hung in its loop over 2^35 of them)', async () => {
    const s = await validateScenario(base({
      mms: [{ name: 'm', vmas: [{ start: 0, size: 0x4000 }, { start: '0x7ffff0000000', size: 0x2000 }] }],
      actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [
        { write: '0x1000' }, { write: '0x7ffff0001000' }, { fork: 'c' },
        { munmap: { start: 0, size: '0x7ffffffff000' } }, 'exit',
      ] }],
    }), 's.yaml');
    const r = run(s, { seed: 3 });
    expect(r.verdict).toBe('ok');
    const m = r.kernel.mmByName('m')!;
    expect(m.vmas).toEqual([]);
    expect(m.expected.size).toBe(0);
    // (the child's copy keeps what was written before the fork)
    expect([...r.kernel.mmByName('c')!.expected.keys()]).toEqual([0x1, 0x7ffff0001]);
  });
});

describe('large scenarios: linear set-up, no internal error', () => {
  // (each took minutes or failed before; the timeout says "hang", with a wide margin: the
  // search takes about a second)
  const many = (n: number, mms: (i: number) => { name: string; vmas: { start: number; size: number }[] }[]) => validateScenario(base({
    hpage_pmd_nr: 8, files: [], mms: mms(n), actors: [{ kind: 'task', id: 'T', mm: 'm0', ops: [{ read: 0 }] }],
  }), 's.yaml');

  it('an mm of 100,000 VMAs: its table filled one entry at a time (it was rewritten whole for each: minutes), overlaps found in n log n', { timeout: 60_000 }, async () => {
    const s = await many(100_000, (n) => [{ name: 'm0', vmas: Array.from({ length: n }, (_, i) => ({ start: i * 0x2000, size: 0x1000 })) }]);
    const r = explore(s, { strategy: 'dfs', shrinkBudget: 0 });
    expect(r.complete).toBe(true);
    expect(r.verdicts).toEqual({ ok: 1 });
    const overlapping = base({ hpage_pmd_nr: 8, files: [], mms: [{ name: 'm', vmas: [...Array.from({ length: 100_000 }, (_, i) => ({ start: i * 0x2000, size: 0x1000 })), { start: 0x7000, size: 0x3000 }] }] });
    await expect(validateScenario(overlapping, 's.yaml')).rejects.toThrow(/^s\.yaml: mms\[0\]\.vmas\[100000\]: overlaps mms\[0\]\.vmas\[4\]: the VMAs of one mm are disjoint$/);
  });

  it('20,000 mm_structs in a search world: some 60,000 state-vector columns (it stopped at 65,536: an internal error)', { timeout: 60_000 }, async () => {
    const s = await many(20_000, (n) => Array.from({ length: n }, (_, i) => ({ name: `m${i}`, vmas: [{ start: 0, size: 0x1000 }] })));
    const r = explore(s, { strategy: 'dfs', shrinkBudget: 0 });
    expect(r.complete).toBe(true);
    expect(r.verdicts).toEqual({ ok: 1 });
  });

  it('VMAs spanning more pmds than are laid out (the whole address space at HPAGE_PMD_NR 2: 2^34 pmds crashed V8; 1 TiB at 512 took 12 GB for a search): refused, naming the VMA', async () => {
    await refused({ hpage_pmd_nr: 2, files: [], mms: [{ name: 'm', vmas: [{ start: 0, size: '0x7ffffffff000' }] }] },
      /^s\.yaml: mms\[0\]\.vmas\[0\]\.size: the mm's VMAs up to this one span 17,179,869,184 pmds: expected at most 2,796,202 at HPAGE_PMD_NR 2 \(0x555554000 bytes\), each laid out with its ptes as the run starts$/);
    await refused({ hpage_pmd_nr: 512, files: [], mms: [{ name: 'm', vmas: [{ start: 0, size: '0x800000000' }, { start: '0x1000000000', size: '0x10000000000' }] }] },
      /mms\[0\]\.vmas\[1\]\.size: the mm's VMAs up to this one span 540,672 pmds: expected at most 21,760 at HPAGE_PMD_NR 512/);
    await expect(validateScenario(base({ hpage_pmd_nr: 512, files: [], mms: [{ name: 'm', vmas: [{ start: 0, size: '0xa00000000' }] }] }), 's.yaml')).resolves.toBeDefined();
  });

  it('100,000 misaligned VMAs: the first one named (Zod spread every element\'s issues into one call: a stack overflow, an internal error)', { timeout: 60_000 }, async () => {
    const bad = base({ hpage_pmd_nr: 8, files: [], mms: [{ name: 'm', vmas: Array.from({ length: 100_000 }, (_, i) => ({ start: i * 2, size: 1 })) }] });
    await expect(validateScenario(bad, 's.yaml')).rejects.toThrow(/^s\.yaml: mms\[0\]\.vmas\[0\]\.size: must be page-aligned/);
    const ops = Array.from({ length: 200_000 }, () => ({ read: 1 }));
    await expect(validateScenario(base({ actors: [{ kind: 'task', id: 'T', mm: 'm', ops }] }), 's.yaml')).rejects.toThrow(/^s\.yaml: actors\[0\]\.ops\[0\]\.read: must be page-aligned/);
  });
});
