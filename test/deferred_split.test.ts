// thp_deferred_split_page as a live kernel counts it (mm/rmap.c __folio_remove_rmap,
// v6.8 on): an anonymous THP that an unmap leaves partly mapped goes on the deferred split
// queue once. The model counted none before: the cases that expect one failed on it.
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';

/** One or two tasks on 2 MiB-aligned anonymous THPs (HPAGE_PMD_NR=512, enabled=always). */
async function thp(actors: { id: string; mm: string; ops: unknown[] }[]) {
  const s = await validateScenario({
    name: 'deferred-split', hpage_pmd_nr: 512, sysfs: { enabled: 'always' },
    mms: [{ name: 'm', vmas: [{ start: 0x200000, size: 0x400000 }] }],
    actors: actors.map((a) => ({ kind: 'task', ...a })),
  }, '<test>');
  const r = run(s, { seed: 1 });
  expect(r.verdict).toBe('ok');
  return r.kernel.vmstat;
}

describe('thp_deferred_split_page', () => {
  it('munmap of half a THP: the pmd split, the THP queued once', async () => {
    const v = await thp([{ id: 'T', mm: 'm', ops: [{ write: 0x200000 }, { munmap: { start: 0x200000, size: 0x100000 } }] }]);
    expect(v.get('thp_split_pmd')).toBe(1);
    expect(v.get('thp_deferred_split_page')).toBe(1);
  });

  it('a second partial unmap of a THP already queued counts nothing more', async () => {
    const v = await thp([{ id: 'T', mm: 'm', ops: [
      { write: 0x200000 },
      { madvise: { start: 0x200000, size: 0x1000, advice: 'MADV_DONTNEED' } },
      { madvise: { start: 0x300000, size: 0x2000, advice: 'MADV_DONTNEED' } },
    ] }]);
    expect(v.get('thp_deferred_split_page')).toBe(1);
  });

  it('unmapping all of a pte-mapped THP in one batch, or a whole pmd-mapped one, queues nothing', async () => {
    const v = await thp([{ id: 'T', mm: 'm', ops: [
      { write: 0x200000 }, { write: 0x400000 },
      { split: 0x200000 },
      { munmap: { start: 0x200000, size: 0x400000 } },
    ] }]);
    expect(v.get('thp_split_pmd')).toBe(1);
    expect(v.get('thp_deferred_split_page')).toBe(0);
  });

  it('a batch ends where the ptes\' bits differ: a munmap over a PROT_READ page in the middle queues the THP', async () => {
    const v = await thp([{ id: 'T', mm: 'm', ops: [
      { write: 0x200000 },
      { mprotect: { start: 0x280000, size: 0x1000, prot: ['PROT_READ'] } },
      { munmap: { start: 0x200000, size: 0x200000 } },
    ] }]);
    expect(v.get('thp_split_pmd')).toBe(1);
    expect(v.get('thp_deferred_split_page')).toBe(1);
  });

  it('a THP shared after fork: the child unmapping half counts nothing while the parent\'s pmd maps it all; the parent\'s zap then does', async () => {
    const v = await thp([
      { id: 'P', mm: 'm', ops: [{ write: 0x200000 }, { fork: 'c' }, { wait: { actor: 'C' } }, { munmap: { start: 0x200000, size: 0x200000 } }] },
      { id: 'C', mm: 'c', ops: [{ munmap: { start: 0x200000, size: 0x100000 } }] },
    ]);
    expect(v.get('thp_deferred_split_page')).toBe(1);
  });
});
