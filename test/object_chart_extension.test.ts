// Extending an object chart from outside the core (src/object_charts.ts): what an extension
// may add and what it is refused, and that registering one leaves every existing state's
// number, every run's trace and every dfs's state count as they were. The extension used is
// the writeback example's (examples/extensions/writeback), imported as a plugin is.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pageChart } from '../machines/page.ts';
import { type ObjectChartExtension, allObjectCharts, applyObjectChartExtension, compiledObjectChart, extendObjectChart, objectChart } from '../src/object_charts.ts';
import { compileObjectChart } from '../src/engine/object_chart.ts';
import { loadScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';
import { explore } from '../src/explore/explore.ts';
import { exportChart } from '../src/export/chart.ts';
import { chartByName } from '../src/export/machines.ts';
import { PAGE_CHART } from '../src/memory/pages.ts';
import { Kernel } from '../src/memory/kernel.ts';

const EXAMPLES = ['collapse-shmem-as-posted-holes', 'madvise-collapse-file', 'team-recovery', 'zero-page-read-faults'];
const PLUGIN = 'examples/extensions/writeback/index.ts';

const region = (initial: string, states: string[], on: Record<string, string> = {}): ObjectChartExtension['regions'] => ({
  r: { initial, states: Object.fromEntries(states.map((s) => [s, { on: s === initial ? on : {} }])) },
});

describe('applyObjectChartExtension refuses what would change the chart underneath', () => {
  const cases: [string, ObjectChartExtension, RegExp][] = [
    ['nothing', { name: 'x' }, /adds no region, command or guard/],
    ['an existing command', { name: 'x', events: ['FREE'] }, /command 'FREE' is already one of the chart's/],
    ['an existing region', { name: 'x', events: ['E'], regions: { lock: { initial: 'a', states: { a: { on: { E: 'a' } } } } } }, /region 'lock' is already one/],
    ['an initial state not first', { name: 'x', events: ['E'], regions: region('b', ['a', 'b'], { E: 'a' }) }, /initial state 'b' must be its first/],
    ['an existing command in a new region', { name: 'x', events: ['E'], regions: { r: { initial: 'a', states: { a: { on: { E: 'a', LOCK: 'a' } } } } } }, /handles 'LOCK', an existing region's command/],
    ['a guard on an unknown state', { name: 'x', guards: [{ state: 'alloc.gone', event: 'FREE', guard: { in: 'lock.locked' } }] }, /unknown state 'alloc.gone'/],
    ['a guard where there is no transition', { name: 'x', guards: [{ state: 'alloc.free', event: 'FREE', guard: { in: 'lock.locked' } }] }, /'alloc.free' has no transition on 'FREE'/],
    ['a guard testing no state', { name: 'x', guards: [{ state: 'alloc.allocated', event: 'FREE', guard: { in: 'nowhere.x' } }] }, /guard tests unknown state 'nowhere.x'/],
    ['a command no region handles', { name: 'x', events: ['E', 'F'], regions: region('a', ['a'], { E: 'a' }) }, /no region handles 'F'/],
  ];
  for (const [what, ext, msg] of cases) {
    it(what, () => {
      expect(() => applyObjectChartExtension(pageChart, ext)).toThrow(msg);
      expect(() => applyObjectChartExtension(pageChart, ext)).toThrow(/^page chart extension 'x': /);
    });
  }

  it('only the page chart can be extended; an unknown chart is named', () => {
    const ext: ObjectChartExtension = { name: 'y', events: ['E'], regions: region('a', ['a'], { E: 'a' }) };
    expect(() => extendObjectChart('pmd', ext)).toThrow(/the pmd chart cannot be extended/);
    expect(() => extendObjectChart('vma', ext)).toThrow(/no object chart 'vma' to extend \(page, pmd, mm_struct, team_head\)/);
    expect(objectChart('page')).toBe(pageChart);
  });
});

describe('a registered extension leaves what existed as it was', () => {
  // first in the file: the plugin is not yet imported (a test file has a module graph of its own)
  it('runs (trace hashes) and the dfs (distinct states) are the same with it as without', async () => {
    expect(compiledObjectChart('page').regionNames).not.toContain('writeback');
    const scenarios = await Promise.all(EXAMPLES.map((e) => loadScenario(`examples/${e}.yaml`)));
    const hashes = () => scenarios.map((s) => [1, 2, 3].map((seed) => run(s, { seed }).traceHash).join(' '));
    const states = () => explore(scenarios[1]!, { strategy: 'dfs', preemptionBound: 1 }).states;
    const without = { hashes: hashes(), states: states() };
    await import(`../${PLUGIN}`);
    expect(compiledObjectChart('page').regionNames).toContain('writeback');
    expect(hashes()).toEqual(without.hashes);
    expect(states()).toBe(without.states);
    expect(without.states).toBeGreaterThan(100);
  });

  it('every state of the built-in page chart keeps its number; the new region is in its initial state there', async () => {
    const before = compileObjectChart(pageChart);
    await import(`../${PLUGIN}`);
    const after = compiledObjectChart('page');
    expect(PAGE_CHART).toBe(after);
    expect(after.regionNames).toEqual([...before.regionNames, 'writeback']);
    expect(after.nStates).toBe(before.nStates * 2);
    expect(after.initial).toBe(before.initial);
    for (let s = 0; s < before.nStates; s++) {
      expect(after.value(s)).toEqual({ ...before.value(s), writeback: 'clear' });
      expect(after.encode(before.value(s))).toBe(s);
      // every built-in command is legal from it exactly as before, to the same state (FREE: while writeback is clear)
      for (const ev of pageChart.events) expect(after.next[after.eventIndex[ev] * after.nStates + s]).toBe(before.next[before.eventIndex[ev] * before.nStates + s]);
    }
    const wb = after.encode({ ...before.value(before.initial), alloc: 'allocated', lock: 'locked' }) + before.nStates;
    expect(after.value(wb)).toMatchObject({ alloc: 'allocated', lock: 'locked', writeback: 'writeback' });
    expect(after.next[after.eventIndex.FREE * after.nStates + wb]).toBe(-1);
    expect(after.next[after.eventIndex.SET_WRITEBACK * after.nStates + wb]).toBe(-1);
    // registered once: again, the same object is a no-op; another of the same name is refused
    const { pgWriteback } = await import(`../${PLUGIN}`);
    extendObjectChart('page', pgWriteback);
    expect(compiledObjectChart('page')).toBe(after);
    expect(() => extendObjectChart('page', { ...pgWriteback })).toThrow(/page chart extension 'PG_writeback' is already registered/);
  });
});

describe('the page store runs the extended chart', () => {
  it('applies its commands through the table, publishes them, refuses them where the chart does, and names an unknown one', async () => {
    await import(`../${PLUGIN}`);
    const k = new Kernel({ hpagePmdNr: 4 });
    const ops: string[] = [];
    k.bus.events$.subscribe((e) => e.kind === 'page' && ops.push(e.op));
    const p = k.pages.alloc(0, true, -1);
    expect(() => k.pages.command(p, 'SET_WRITEBACK', -1)).toThrow(/SET_WRITEBACK is not allowed in state \[allocated unlocked .* mapcount=0\]/);
    k.pages.setLocked(p, -1);
    k.pages.command(p, 'SET_WRITEBACK', -1);
    expect(k.pages.inState(p, 'writeback.writeback')).toBe(true);
    expect(k.pages.describe(p)).toMatch(/^allocated locked live isolated not_uptodate clean unmapped writeback count=1/);
    k.pages.clearLocked(p, -1);
    expect(() => k.pages.put(p, -1)).toThrow(/FREE is not allowed in state \[.* writeback count=0/);
    expect(() => k.pages.command(p, 'SET_WRITEBAK', -1)).toThrow(/the page chart has no command 'SET_WRITEBAK' \(ALLOC, FREE, .*, SET_WRITEBACK, END_WRITEBACK\)/);
    // (put_page's PUT is published, the FREE it leads to refused)
    expect(ops).toEqual(['ALLOC', 'LOCK', 'SET_WRITEBACK', 'UNLOCK', 'PUT']);
  });
});

describe('export chart and the inspector show the extension like a built-in chart', () => {
  it('thpsim export chart page --plugin FILE draws the writeback region; without it, none', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/thpsim.js', 'export', 'chart', ...args], { encoding: 'utf8', timeout: 120_000 });
    const withIt = cli('page', '--format', 'mermaid', '--plugin', PLUGIN);
    expect(withIt.stderr).toBe('');
    expect(withIt.stdout).toMatch(/state "writeback" as s_writeback \{/);
    expect(withIt.stdout).toMatch(/SET_WRITEBACK/);
    expect(withIt.stdout).toMatch(/FREE \[.*In\('writeback\.clear'\)/);
    const scxml = cli('writeback', '--format', 'scxml', '--plugin', PLUGIN, '--plugin', PLUGIN);
    expect(scxml.status).toBe(0);
    expect(scxml.stdout).toMatch(/<state id="write_cache_pages/);
    expect(cli('page', '--format', 'mermaid').stdout).not.toMatch(/writeback/);
    const missing = cli('page', '--format', 'mermaid', '--plugin', 'no/such.ts');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^thpsim: thpsim export chart: --plugin: no such file: \/.*no\/such\.ts \(no\/such\.ts\)\n$/);
  });

  it('in-process: the exported chart and the inspector payload are the extended ones', async () => {
    await import(`../${PLUGIN}`);
    expect(exportChart(chartByName('page')!, 'json')).toMatch(/"writeback"/);
    expect(allObjectCharts().map((c) => c.def.id)).toEqual(['page', 'pmd', 'mm_struct', 'team_head']);
    const s = await loadScenario('examples/extensions/writeback/writeback-fixed.yaml');
    const [{ record }, { buildPayload }] = await Promise.all([import('../src/inspect/record.ts'), import('../src/inspect/payload.ts')]);
    const p = await buildPayload(s, record(s, { seed: 1 }));
    expect(p.decode.page!.regions).toContain('writeback');
    expect(p.decode.page!.states.at(-1)).toEqual(['clear', 'writeback']);
    expect(p.objects.page!.nodes.some((n) => /writeback/.test(JSON.stringify(n)))).toBe(true);
    expect(p.charts.writeback).toBeDefined();
  });
});
