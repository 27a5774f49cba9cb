// The typed scenario builder (issue 19, item 2; src/scenario/builder.ts) is the YAML format
// written in TypeScript: every scenario file the project has — examples, fixtures,
// selftests, the scenarios replay files embed — re-expressed through the builder's methods
// gives the same data the file parses to and the same validated scenario loadScenario
// gives; builder-made scenarios run to their verdicts; a mistake is the same one-line
// error a file with it gets. Its types refuse what the schema refuses:
// test/types/scenario_builder_types.ts, compiled here.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { type ScenarioBuilder, ScenarioError, loadScenario, run, scenario, validateScenario } from 'thpsim';
import { type BuiltinKind, builtinActorSchemas } from '../src/scenario/builder.ts';
import { readScenarioData } from '../src/scenario/load.ts';
import { allActorKinds, getActorKind } from '../src/registry.ts';

type Entry = Record<string, unknown>;

/** Each built-in kind's method, called as a user calls it: the id, then the rest of the entry. */
const KIND_METHOD: Record<BuiltinKind, (b: ScenarioBuilder, id: string, rest: Entry) => ScenarioBuilder> = {
  task: (b, id, rest) => b.task(id, rest as never),
  khugepaged: (b, id, rest) => b.khugepaged(id, rest as never),
  shmem_reclaim: (b, id, rest) => b.shmemReclaim(id, rest as never),
  shmem_recovery: (b, id, rest) => b.shmemRecovery(id, rest as never),
  shmem_shrinker: (b, id, rest) => b.shmemShrinker(id, rest as never),
  huge_zero_page_shrinker: (b, id, rest) => b.hugeZeroPageShrinker(id, rest as never),
};

/**
 * A file's data re-expressed through the builder: the method for each top-level key, one
 * call per file, mm and actor. A key with no method fails here — the builder must follow
 * the format.
 */
function viaBuilder(data: Entry): ScenarioBuilder {
  let b = scenario(data.name as string);
  for (const [key, v] of Object.entries(data)) {
    const value = v as never;
    switch (key) {
      case 'name': break;
      case 'description': b = b.description(value); break;
      case 'hpage_pmd_nr': b = b.hpagePmdNr(value); break;
      case 'seed': b = b.seed(value); break;
      case 'max_steps': b = b.maxSteps(value); break;
      case 'nr_cpus': b = b.nrCpus(value); break;
      case 'variants': b = b.variants(...(v as string[])); break;
      case 'plugins': b = b.plugins(...(v as string[])); break;
      case 'inject': b = b.inject(value); break;
      case 'sysfs': b = b.sysfs(value); break;
      case 'config': b = b.config(value); break;
      case 'liveness': b = b.liveness(value); break;
      case 'expect': b = b.expect(value); break;
      case 'files': for (const f of v as never[]) b = b.file(f); break;
      case 'mms':
        for (const { name, vmas, ...rest } of v as Entry[]) {
          expect(rest, `mms entry ${name} has only name and vmas`).toEqual({});
          // (both forms: the VMAs added one by one, or the list as the file gives it)
          const list = vmas as never[] | undefined;
          b = list?.length ? b.mm(name as string, (m) => list.reduce((m, vma) => m.vma(vma), m)) : b.mm(name as string, list);
        }
        break;
      case 'actors':
        for (const a of v as Entry[]) {
          const { kind, id, ...rest } = a;
          const method = KIND_METHOD[kind as BuiltinKind];
          b = method ? method(b, id as string, rest) : b.actor(a as never);
        }
        break;
      default: throw new Error(`no builder method for the top-level key ${key}`);
    }
  }
  return b;
}

const yamls = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(dir, f));
const FILES = [...yamls('examples'), ...yamls('test/fixtures'), ...yamls('test/selftests')];
const REPLAYS = ['examples', 'test/fixtures'].flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.replay.json')).sort().map((f) => join(d, f)));

it('has a method for each built-in actor kind, typed from the schema that kind registers', () => {
  for (const [kind, schema] of Object.entries(builtinActorSchemas)) expect(getActorKind(kind)?.schema, kind).toBe(schema);
  // (before any plugin registers more: every kind the registry has is a built-in one)
  expect(allActorKinds().map((k) => k.kind).sort()).toEqual(Object.keys(builtinActorSchemas).sort());
});

describe('every scenario file, re-expressed through the builder, is the same scenario', () => {
  it('covers every file', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(95);
    expect(REPLAYS.length).toBeGreaterThan(10);
  });
  it.each(FILES)('%s', async (file) => {
    const data = (await readScenarioData(file)) as Entry;
    const b = viaBuilder(data);
    expect(b.data()).toEqual(data);
    expect(await b.build({ base: dirname(file) })).toEqual(await loadScenario(file));
  });
  it.each(REPLAYS)('the scenario of %s', async (file) => {
    const data = (JSON.parse(readFileSync(file, 'utf8')) as { scenario: Entry }).scenario;
    const b = viaBuilder(data);
    expect(b.data()).toEqual(data);
    expect(await b.build()).toEqual(await validateScenario(data, file, { within: 'scenario' }));
  });
});

/** madvise-collapse-as-posted-compound, written with the builder. */
const compound = scenario('madvise-collapse-as-posted-compound').seed(6).hpagePmdNr(4)
  .sysfs({ shmem_enabled: 'always' }).sysfs({ khugepaged: { scan_sleep_millisecs: 0 } })
  .variants('collapse_shmem_clear_holes', 'collapse_shmem_rollback_nrpages', 'collapse_shmem_stop_if_truncated')
  .variants('retract_page_tables_test_exit', 'collapse_shmem_no_freeze_new_page')
  .file({ name: 'f', size: 0x4000, populated: true })
  .mm('m1', (m) => m.vma({ start: 0, size: '0x4000', file: 'f', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED', 'VM_HUGEPAGE'] }))
  .mm('m2', [{ start: 0, size: '0x4000', file: 'f', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED'] }])
  .task('M1', { mm: 'm1', ops: [{ read: 0x1000 }, { madvise_collapse: { start: 0, size: 0x4000 } }, { read: 0 }] })
  .task('M2', { mm: 'm2', ops: [{ madvise_collapse: { start: 0, size: 0x4000 } }, { read: 0x2000 }] })
  .khugepaged('khugepaged', { full_scans: 2 })
  .expect({ verdict: 'violation' });

describe('builder-made scenarios run', () => {
  it('as the file they are written after: the same validated scenario, the same counterexample', async () => {
    const file = 'examples/madvise-collapse-as-posted-compound.yaml';
    const s = await compound.build();
    expect(s).toEqual({ ...(await loadScenario(file)), description: undefined });
    const r = run(s);
    expect(r.verdict).toBe('violation');
    expect(r.violations[0]!.message).toContain('VM_BUG_ON_PAGE(PageTransCompound(page))');
    const replay = JSON.parse(readFileSync(file.replace('.yaml', '.replay.json'), 'utf8')) as { decisions: never[]; violation: object };
    expect(run(s, { schedule: replay.decisions }).violations[0]).toMatchObject(replay.violation);
  });

  it('to the verdicts a variant changes', async () => {
    const s = await compound.variants('collapse_shmem_compound_check').expect({ verdict: 'ok' }).build();
    expect(run(s).verdict).toBe('ok');
    // seed 004 as posted: the lost huge zero page reference, and its fixes
    const zero = scenario('zero-page').hpagePmdNr(4)
      .mm('mm1', [{ start: 0, size: 0x4000 }]).mm('mm2', [{ start: 0, size: 0x4000 }])
      .task('T1', { mm: 'mm1', ops: [{ read: 0 }] }).task('T2', { mm: 'mm1', ops: [{ read: '0x1000' }] })
      .task('T3', { mm: 'mm2', ops: [{ read: 0 }, 'exit'] })
      .hugeZeroPageShrinker('kswapd', { passes: 3 });
    expect(run(await zero.build()).verdict).toBe('violation');
    expect(run(await zero.variants('set_huge_zero_page_pmd_none_check', 'free_compound_page_with_order').build()).verdict).toBe('ok');
  });

  it('anonymous huge faults: a write allocates a THP, a read maps the huge zero page', async () => {
    const s = await scenario('thp-fault').hpagePmdNr(8).sysfs({ enabled: 'always' })
      .mm('mm', (m) => m.vma({ start: '0x0', size: '0x10000' }))
      .task('T', { mm: 'mm', ops: [{ write: 0x1000 }, { read: 0x9000 }, 'exit'] })
      .build();
    const r = run(s);
    expect(r.verdict).toBe('ok');
    expect(r.vmstat).toMatchObject({ thp_fault_alloc: 1, thp_zero_page_alloc: 1 });
  });
});

describe('a builder is a value', () => {
  it('each method returns a new builder: a common part serves several scenarios', () => {
    const base = scenario('base').hpagePmdNr(4).mm('m', [{ start: 0, size: 0x4000 }]);
    const a = base.task('A', { mm: 'm', ops: [{ read: 0 }] });
    const b = base.task('B', { mm: 'm', ops: [{ write: 0 }] });
    expect(base.data().actors).toBeUndefined();
    expect(a.data().actors).toEqual([{ kind: 'task', id: 'A', mm: 'm', ops: [{ read: 0 }] }]);
    expect(b.data().actors).toEqual([{ kind: 'task', id: 'B', mm: 'm', ops: [{ write: 0 }] }]);
  });
  it('keeps copies: neither what it was given nor what data() returned changes it', () => {
    const vma = { start: 0, size: 0x4000 };
    const b = scenario('x').mm('m', [vma]);
    vma.size = 0x8000;
    b.data().mms![0]!.vmas![0]!.size = 0x8000;
    expect(b.data().mms).toEqual([{ name: 'm', vmas: [{ start: 0, size: 0x4000 }] }]);
  });
  it('merges sysfs, inject and config as it is given them; appends variants, plugins, files, mms, actors', () => {
    const b = scenario('x').sysfs({ enabled: 'always', khugepaged: { max_ptes_none: 1 } }).sysfs({ khugepaged: { pages_to_scan: 8 }, enabled: 'madvise' })
      .inject({ trylock: 1 }).inject({ alloc_page: 0.5 }).config({ READ_ONLY_THP_FOR_FS: true })
      .variants('a').variants('b', 'c');
    expect(b.data()).toEqual({
      name: 'x', sysfs: { enabled: 'madvise', khugepaged: { max_ptes_none: 1, pages_to_scan: 8 } },
      inject: { trylock: 1, alloc_page: 0.5 }, config: { READ_ONLY_THP_FOR_FS: true }, variants: ['a', 'b', 'c'],
    });
  });
});

describe('a mistake is the error the same mistake in a file gets', () => {
  const YAML = `
name: mistake
hpage_pmd_nr: 4
files: [{ name: f, size: 0x4000 }]
mms: [{ name: m, vmas: [{ start: 0x0, size: 0x4000, file: f, flags: [VM_READ, VM_WRITE, VM_SHARED] }] }]
actors:
  - { kind: task, id: T, mm: m, ops: [{ read: 0x0 }] }
`;
  const good = scenario('mistake').hpagePmdNr(4).file({ name: 'f', size: 0x4000 })
    .mm('m', [{ start: 0, size: 0x4000, file: 'f', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED'] }]);
  const task = (ops: unknown[]) => ({ kind: 'task', id: 'T', mm: 'm', ops });
  const yamlWith = (change: (d: Entry) => void) => {
    const d = parseYaml(YAML) as Entry;
    change(d);
    return d;
  };

  /** [what, the file's data with the mistake, the builder with it ("as never": the mistakes the types refuse)]. */
  const cases: [string, Entry, ScenarioBuilder][] = [
    ['a misaligned address', yamlWith((d) => { d.actors = [task([{ write: 0x1001 }])]; }), good.task('T', { mm: 'm', ops: [{ write: 0x1001 }] })],
    ['an advice not in the enum', yamlWith((d) => { d.actors = [task([{ madvise: { start: 0, size: 0x4000, advice: 'MADV_FOO' } }])]; }),
      good.task('T', { mm: 'm', ops: [{ madvise: { start: 0, size: 0x4000, advice: 'MADV_FOO' as never } }] })],
    ['an address that is no hex string', yamlWith((d) => { d.actors = [task([{ read: '4096' }])]; }), good.task('T', { mm: 'm', ops: [{ read: '4096' as never }] })],
    ['exit before the end', yamlWith((d) => { d.actors = [task(['exit', { read: 0 }])]; }), good.task('T', { mm: 'm', ops: ['exit', { read: 0 }] as never })],
    ['an unknown field', yamlWith((d) => { (d.files as Entry[])[0]!.bogus = 1; }),
      scenario('mistake').hpagePmdNr(4).file({ name: 'f', size: 0x4000, bogus: 1 } as never).mm('m', [{ start: 0, size: 0x4000, file: 'f', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED'] }])
        .task('T', { mm: 'm', ops: [{ read: 0 }] })],
    ['an mm that does not exist', yamlWith((d) => { d.actors = [{ ...task([{ read: 0 }]), mm: 'mm9' }]; }), good.task('T', { mm: 'mm9', ops: [{ read: 0 }] })],
    ['an unknown variant', yamlWith((d) => { d.variants = ['no_such_fix']; }), good.variants('no_such_fix').task('T', { mm: 'm', ops: [{ read: 0 }] })],
    ['an HPAGE_PMD_NR that is no power of two', yamlWith((d) => { d.hpage_pmd_nr = 6; }), good.hpagePmdNr(6).task('T', { mm: 'm', ops: [{ read: 0 }] })],
    ['a duplicate actor id', yamlWith((d) => { d.actors = [task([{ read: 0 }]), { kind: 'khugepaged', id: 'T' }]; }), good.task('T', { mm: 'm', ops: [{ read: 0 }] }).khugepaged('T')],
    ['no actor', yamlWith((d) => { delete d.actors; }), good],
    ['an unknown actor kind', yamlWith((d) => { d.actors = [{ kind: 'kcompactd', id: 'C' }]; }), good.actor({ kind: 'kcompactd', id: 'C' })],
    ['a bad field of a built-in kind through actor()', yamlWith((d) => { d.actors = [{ kind: 'khugepaged', id: 'K', full_scans: 0 }]; }), good.actor({ kind: 'khugepaged', id: 'K', full_scans: 0 })],
  ];

  it.each(cases)('%s', async (_what, data, b) => {
    const fromFile = await validateScenario(data, 'mistake.yaml').then(() => undefined, (e: unknown) => e);
    const fromBuilder = await b.build().then(() => undefined, (e: unknown) => e);
    expect(fromFile).toBeInstanceOf(ScenarioError);
    expect(fromBuilder).toBeInstanceOf(ScenarioError);
    const { field, expected } = fromFile as ScenarioError;
    expect(fromBuilder).toMatchObject({ file: 'scenario("mistake")', field, expected });
  });

  it('what no file could hold is refused as the builder is given it', () => {
    expect(() => scenario('fn').actor({ kind: 'my_kind', id: 'P', callback: () => 1 })).toThrow(/^scenario\("fn"\): actors: expected data a scenario file could hold \(no functions\)$/);
  });

  it('is one line naming the builder, the field and what was expected', async () => {
    await expect(good.task('T', { mm: 'm', ops: [{ read: 0 }, { write: 0x1001 }] }).build())
      .rejects.toThrow(/^scenario\("mistake"\): actors\[0\]\.ops\[1\]\.write: must be page-aligned \(a multiple of 4096\), got 0x1001$/);
  });

  it('a plugin is resolved from build()\'s base, or the working directory', async () => {
    const b = scenario('p').plugins('./variants/no_such_plugin.ts').hugeZeroPageShrinker('Z');
    await expect(b.build()).rejects.toThrow(/^scenario\("p"\): plugins\[0\]: no such file: .*\/variants\/no_such_plugin\.ts \(\.\/variants\/no_such_plugin\.ts from the working directory\)$/);
    await expect(b.build({ base: 'examples' })).rejects.toThrow(/plugins\[0\]: no such file: .*\/examples\/variants\/no_such_plugin\.ts/);
  });
});

it('its types refuse what the schema refuses (test/types/scenario_builder_types.ts compiles, every @ts-expect-error an error)', () => {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'test/types/tsconfig.json'], { encoding: 'utf8', timeout: 120_000 });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
}, 120_000);
