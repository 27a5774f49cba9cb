// Extension points: a monitor, an actor kind and a variant registered from outside the
// core take part in runs without any change to the scheduler or the CLI.
import { expect, it } from 'vitest';
import { registerMonitor, allMonitors, allVariants } from '../src/registry.ts';
import { loadScenario, validateScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';

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
