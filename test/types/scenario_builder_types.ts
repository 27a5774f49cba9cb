// The scenario builder's types (src/scenario/builder.ts) refuse what the YAML schema
// refuses: each `@ts-expect-error` line below is a mistake the schema rejects at that
// field. tsc fails on a directive with no error under it, so a type that stops refusing
// its mistake fails `tsc --noEmit` — and npm test, which compiles this file on its own
// (test/scenario_builder.test.ts, tsconfig.json here). The builder-made scenarios that run
// are in that test; this file only compiles.
import type { z } from 'zod';
import { type Address, type ScenarioData, type TaskOpData, scenario } from '../../src/scenario/builder.ts';
import type { OPS } from '../../src/actors/task.ts';
import type { scenarioBaseSchema } from '../../src/scenario/schema.ts';

const s = scenario('types');

// What the YAML accepts compiles: addresses as numbers or "0x..." strings, every field.
export const ok = s.description('every key').hpagePmdNr(8).seed(3).maxSteps(1000).nrCpus(2)
  .variants('collapse_shmem_clear_holes').plugins('./p.ts')
  .inject({ alloc_huge_page: 0.5, trylock: 1 })
  .sysfs({ enabled: 'madvise', defrag: 'defer+madvise', use_zero_page: 1, shmem_enabled: 'within_size', khugepaged: { max_ptes_none: 7, defrag: 0 } })
  .config({ READ_ONLY_THP_FOR_FS: true })
  .file({ name: 'f', size: '0x8000', populated: true, swapped: [{ offset: 0x1000, size: '0x1000' }], holes: [] })
  .file({ name: 'text', shmem: false, size: 0x8000, populated: true, cached: false })
  .mm('m1', (m) => m.vma({ start: 0, size: '0x8000', file: 'f', pgoff: 0, flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED', 'VM_HUGEPAGE'] }))
  .mm('m2', [{ start: '0x200000', size: 0x200000 }])
  .mm('m3')
  .task('T1', {
    mm: 'm1',
    ops: [
      { read: 0 }, { write: '0x1000' }, { fork: 'child' }, { munmap: { start: 0, size: 0x1000 } }, { split: 0 },
      { pread: { file: 'f', offset: 0 } }, { pwrite: { file: 'f', offset: '0x2000' } }, { truncate: { file: 'f', size: 0x1000 } },
      { punch: { file: 'f', offset: 0, size: 0x1000 } }, { uprobe: 0x1000 }, { madvise_collapse: { start: 0, size: 0x8000 } },
      { madvise: { start: 0, size: 0x8000, advice: 'MADV_HUGEPAGE' } }, { mprotect: { start: 0, size: 0x1000, prot: ['PROT_READ', 'PROT_EXEC'] } },
      { mprotect: { start: 0, size: 0x1000, prot: 'PROT_NONE' } }, { sysfs: { enabled: 'never', khugepaged: { pages_to_scan: 8 } } },
      { wait: { khugepaged_full_scans: 2 } }, { wait: { actor: 'K' } }, { wait: { ms: 10 } }, 'exit',
    ],
  })
  .task('T2', { mm: 'child', ops: ['exit'] })
  .khugepaged('K', { full_scans: 2 }).khugepaged('K2')
  .shmemReclaim('R', { targets: [{ file: 'f', offset: '0x1000' }] })
  .shmemRecovery('W', { file: 'f', offset: 0x3000, mm: 'm1' })
  .shmemShrinker('S', { passes: 2 })
  .hugeZeroPageShrinker('Z', { passes: 12, interval_us: 5 })
  .actor({ kind: 'khugepaged', id: 'K3', full_scans: 1 })
  .actor({ kind: 'my_plugin_kind', id: 'P', anything: [1, 'two'] })
  .liveness()
  .expect({ verdict: 'violation', invariant: 'page_refcount' });

// An unknown field, anywhere.
// @ts-expect-error files[0].bogus: unknown field
s.file({ name: 'f', size: 0x1000, bogus: true });
// @ts-expect-error mms[0].vmas[0].start_addr: unknown field
s.mm('m', [{ start_addr: 0, size: 0x1000 }]);
// @ts-expect-error sysfs.khugepaged.max_ptes: unknown field
s.sysfs({ khugepaged: { max_ptes: 3 } });
// @ts-expect-error inject.alloc_hugepage: unknown field (alloc_huge_page)
s.inject({ alloc_hugepage: 1 });
// @ts-expect-error config.READ_ONLY_THP: unknown field
s.config({ READ_ONLY_THP: true });
// @ts-expect-error actors[0].fullscans: unknown field
s.khugepaged('K', { fullscans: 2 });
// @ts-expect-error actors[0].bogus: unknown field (a built-in kind through .actor())
s.actor({ kind: 'huge_zero_page_shrinker', id: 'Z', bogus: 1 });
// @ts-expect-error expect.invariants: unknown field
s.expect({ verdict: 'ok', invariants: 'x' });

// A value outside an enum.
// @ts-expect-error actors[0].ops[0].madvise.advice: expected one of MADV_HUGEPAGE, ...
s.task('T', { mm: 'm', ops: [{ madvise: { start: 0, size: 0x1000, advice: 'MADV_FOO' } }] });
// @ts-expect-error mms[0].vmas[0].flags[0]: expected one of VM_READ, ...
s.mm('m', [{ start: 0, size: 0x1000, flags: ['VM_FOO'] }]);
// @ts-expect-error sysfs.enabled: expected always, madvise or never
s.sysfs({ enabled: 'sometimes' });
// @ts-expect-error sysfs.use_zero_page: 0 or 1
s.sysfs({ use_zero_page: 2 });
// @ts-expect-error expect.verdict: not a verdict
s.expect({ verdict: 'fine' });
// @ts-expect-error actors[0].ops[0].mprotect.prot: PROT_NONE or a list of PROT_READ, PROT_WRITE, PROT_EXEC
s.task('T', { mm: 'm', ops: [{ mprotect: { start: 0, size: 0x1000, prot: 'PROT_READ' } }] });

// A string where a number is wanted, a number where a string is.
// @ts-expect-error actors[0].full_scans: expected number
s.khugepaged('K', { full_scans: '2' });
// @ts-expect-error actors[0].passes: expected number (through .actor())
s.actor({ kind: 'shmem_shrinker', id: 'S', passes: 'two' });
// @ts-expect-error mms[0].vmas[0].pgoff: expected number (pgoff is pages, not an address)
s.mm('m', [{ start: 0, size: 0x1000, pgoff: '0x10' }]);
// @ts-expect-error inject.trylock: expected number
s.inject({ trylock: '1' });
// @ts-expect-error actors[0].mm: expected string
s.task('T', { mm: 1, ops: ['exit'] });
// @ts-expect-error files[0].populated: expected boolean
s.file({ name: 'f', size: 0x1000, populated: 'yes' });
// @ts-expect-error hpage_pmd_nr: expected number
s.hpagePmdNr('8');

// An address that is neither a number nor a "0x..." string.
// @ts-expect-error actors[0].ops[0].read: expected a hex address like "0x200000"
s.task('T', { mm: 'm', ops: [{ read: '4096' }] });
// @ts-expect-error files[0].size: expected a hex address like "0x200000"
s.file({ name: 'f', size: '32k' });
// @ts-expect-error actors[0].targets[0].offset: expected a hex address
s.shmemReclaim('R', { targets: [{ file: 'f', offset: 'start' }] });

// An operation the schema would not read as one.
// @ts-expect-error actors[0].ops[0]: expected an operation (two keys in one)
s.task('T', { mm: 'm', ops: [{ read: 0, write: 0 }] });
// @ts-expect-error actors[0].ops[0]: expected an operation (no such operation)
s.task('T', { mm: 'm', ops: [{ mmap: 0 }] });
// @ts-expect-error actors[0].ops: exit must be the last operation
s.task('T', { mm: 'm', ops: ['exit', { read: 0 }] });
// @ts-expect-error actors[0].ops[0].wait: expected one of {khugepaged_full_scans: N}, {actor: id}, {ms: N}
s.task('T', { mm: 'm', ops: [{ wait: { actor: 'K', ms: 5 } }] });
// @ts-expect-error actors[0].ops[0].munmap.size: required
s.task('T', { mm: 'm', ops: [{ munmap: { start: 0 } }] });
// @ts-expect-error actors[0].ops[0].pread.file: required
s.task('T', { mm: 'm', ops: [{ pread: { offset: 0 } }] });

// A required field missing.
// @ts-expect-error files[0].size: required
s.file({ name: 'f' });
// @ts-expect-error actors[0].targets: required
s.shmemReclaim('R', {});
// @ts-expect-error actors[0].mm: required
s.shmemRecovery('W', { file: 'f', offset: 0 });
// @ts-expect-error actors[0].id: required (through .actor())
s.actor({ kind: 'khugepaged' });

// The precise types agree with the schema's own: whatever the builder accepts, the
// schema's input type accepts (the builder only narrows), and every operation the
// schema reads is one the builder writes.
type Assignable<A, B> = [A] extends [B] ? true : false;
/** The operation an op object names: its one key that is not `?: never`. */
type OpName<O> = O extends unknown ? { [K in keyof O]-?: undefined extends O[K] ? never : K }[keyof O] : never;
export const agree: [
  Assignable<Address, z.input<typeof OPS.read>>,
  Assignable<Omit<ScenarioData, 'actors'>, Omit<z.input<typeof scenarioBaseSchema>, 'actors'>>,
  Assignable<keyof typeof OPS, OpName<TaskOpData>>,
  Assignable<OpName<TaskOpData>, keyof typeof OPS>,
] = [true, true, true, true];
