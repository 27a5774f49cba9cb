// Extension points: a monitor, an actor kind and a variant registered from outside the
// core take part in runs without any change to the scheduler or the CLI.
import { expect, it } from 'vitest';
import { registerMonitor, allMonitors, allVariants } from '../src/registry.ts';
import { loadScenario, validateScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';
import { chartByName, namedCharts } from '../src/export/machines.ts';
import { exportChart } from '../src/export/chart.ts';

it('a registered monitor observes the bus and its report ends the run as a violation', async () => {
  registerMonitor({
    name: 'test-no-second-huge-pmd',
    description: 'test: at most one huge anonymous pmd is ever installed',
    create({ k, report }) {
      let installed = 0;
      k.bus.on('pmd').subscribe((e) => {
        if (e.op === 'SET_PMD_HUGE' && ++installed > 1) report(`a second huge pmd at ${e.pmd}`);
      });
      return {};
    },
  });
  expect(allMonitors().map((m) => m.name)).toContain('test-no-second-huge-pmd');
  const s = await validateScenario({
    name: 'two-huge', hpage_pmd_nr: 4,
    variants: ['set_huge_zero_page_pmd_none_check', 'free_compound_page_with_order'],
    mms: [{ name: 'mm1', vmas: [{ start: 0, size: 0x8000 }] }],
    actors: [{ kind: 'task', id: 'T1', mm: 'mm1', ops: [{ write: 0 }, { write: 0x4000 }] }],
  }, 'inline');
  const r = run(s);
  expect(r.verdict).toBe('violation');
  expect(r.violations[0]).toMatchObject({ invariant: 'test-no-second-huge-pmd', actor: 'T1', message: 'a second huge pmd at 1' });
});

it('a plugin named by a scenario registers its variant before validation, and an unknown variant is an error', async () => {
  const s = await loadScenario('examples/zero-page-broken-shrinker.yaml');
  expect(allVariants().find((v) => v.name === 'shrink_huge_zero_page_nonatomic')?.kind).toBe('broken');
  expect(s.variants).toContain('shrink_huge_zero_page_nonatomic');
  await expect(validateScenario({ name: 'x', variants: ['no_such_variant'], actors: [{ kind: 'huge_zero_page_shrinker', id: 's' }] }, 'x.yaml'))
    .rejects.toThrow("x.yaml: variants[0]: unknown variant 'no_such_variant'");
  await expect(validateScenario({ name: 'x', plugins: ['./no/such/plugin.ts'], actors: [{ kind: 'huge_zero_page_shrinker', id: 's' }] }, 'x.yaml'))
    .rejects.toThrow(/x\.yaml: plugins\[0\]: no such file: .*\/no\/such\/plugin\.ts \(\.\/no\/such\/plugin\.ts from the directory of x\.yaml\)/);
});

it('an actor kind a plugin registers is a chart `thpsim export chart` draws: the compaction example, with the migrate_pages() it embeds', async () => {
  await loadScenario('examples/extensions/compaction/compaction.yaml');
  expect(namedCharts().map((c) => c.name)).toContain('compaction');
  const mermaid = exportChart(chartByName('compaction')!, 'mermaid');
  expect(mermaid).toContain('state "isolate_migratepages · isolate_migratepages_block()"');
  expect(mermaid).toContain('state "migrate · migrate_pages()"');
  // SCXML carries each state's kernel line: the one migrate_pages() definition, labelled with compaction's call
  const scxml = exportChart(chartByName('compaction')!, 'scxml');
  expect(scxml).toContain('id="compact_zone.isolate_migratepages.clear_lru" thpsim:kernel="isolate_migratepages_block: if (!folio_test_clear_lru(folio))');
  expect(scxml).toContain('MR_COMPACTION');
  expect(scxml).toContain('id="compact_zone.migrate.move_mapping" thpsim:kernel="migrate_page_move_mapping:');
});
