// `npm run bench` (g), SPIN side by side (bench/spin.ts), on the 2-task model: without spin
// or a compiler it says which is missing and still runs thpsim's dfs; with a spin that
// cannot build pan, the same; with SPIN installed, pan's graph is thpsim's.
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onPath, parsePan, spinSection } from '../bench/spin.ts';
import { workPerNode } from '../bench/work.ts';
import { bareDfs } from '../bench/driver_share.ts';
import { explore } from '../src/explore/explore.ts';
import { loadScenario } from '../src/scenario/load.ts';
import { Bus } from '../src/bus/bus.ts';

const root = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'thpsim-bench-spin-'));

/** The section's output on the 2-task model (the pml's default NTASK=2), one round, spin and the compiler looked for in `path`. */
async function section(path: string): Promise<string[]> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    await spinSection({ pml: join(root, 'bench', 'spin', 'zero_page.pml'), scenario: join(root, 'test', 'fixtures', 'zero-page-dfs-fixed.yaml'), runs: 1, path, root });
  } finally {
    log.mockRestore();
  }
  return lines;
}

/** A directory holding executables `names`, each a shell script that fails. */
function fakes(dir: string, ...names: string[]): string {
  const d = mkdtempSync(join(tmp, dir));
  for (const n of names) {
    writeFileSync(join(d, n), '#!/bin/sh\necho "$0: broken" >&2\nexit 3\n');
    chmodSync(join(d, n), 0o755);
  }
  return d;
}

const thpsimRow = /^ {2}thpsim dfs +2,520 +6,257 +complete /;
/** The same search with every monitor off: the same graph. */
const bareRow = /^ {2}thpsim dfs, no monitor +2,520 +6,257 +complete /;

afterEach(() => vi.restoreAllMocks());
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('bench (g): SPIN side by side', () => {
  it('without spin and a compiler on PATH: one line says so, and thpsim\'s dfs row is still there', async () => {
    const none = await section(fakes('none-'));
    expect(none).toContain("  spin      not installed: no spin and no C compiler (gcc or cc) on PATH (apt-get install spin gcc); thpsim's row alone, no ratio");
    expect(none.filter((l) => thpsimRow.test(l))).toHaveLength(1);
    expect(none.filter((l) => bareRow.test(l))).toHaveLength(1);
    expect(none.some((l) => /SPIN pan|^ {2}ratio|^ {2}graph|with no monitor:/.test(l))).toBe(false);

    const ccOnly = await section(fakes('cc-only-', 'cc'));
    expect(ccOnly).toContain("  spin      not installed: no spin on PATH (apt-get install spin); thpsim's row alone, no ratio");
    expect(ccOnly.filter((l) => thpsimRow.test(l))).toHaveLength(1);
  });

  it('a spin that cannot build pan: the failing command in one line, and thpsim\'s row alone', async () => {
    const d = fakes('broken-', 'spin', 'gcc');
    const out = await section(d);
    expect(out).toContain(`  spin      pan not built: ${join(d, 'spin')} -V: exit 3: ${join(d, 'spin')}: broken; thpsim's row alone, no ratio`);
    expect(out.filter((l) => thpsimRow.test(l))).toHaveLength(1);
    expect(out.some((l) => /SPIN pan/.test(l))).toBe(false);
  });

  it("the work line: a node's counted work is the same in every run, and the counting is taken off after it", async () => {
    const s = await loadScenario(join(root, 'test', 'fixtures', 'zero-page-dfs-fixed.yaml'));
    const publish = Bus.prototype.publish;
    const a = workPerNode(s);
    expect(Bus.prototype.publish).toBe(publish);
    expect(workPerNode(s)).toEqual(a);
    expect(a.states).toBe(2520);
    expect(a.events).toBeGreaterThan(0.5);
    expect(a.slotWrites).toBeGreaterThan(1);
    expect(a.restores).toBeGreaterThan(0.1);
    // in a search world no component changes after the first node here: each hashed once, copied at most twice
    expect(a.componentHashes * a.nodes).toBeLessThanOrEqual(4);
    const lines = await section('/nonexistent');
    expect(lines.find((l) => l.includes('work '))).toMatch(/per search node, counted .* bus events, .* slot writes/);
  });

  it("bench/driver_share.ts's SPIN-style loop over the World searches explore()'s graph, with every monitor and with none", async () => {
    const s = await loadScenario(join(root, 'test', 'fixtures', 'zero-page-dfs-fixed.yaml'));
    const r = explore(s, { strategy: 'dfs', shrinkBudget: 0 });
    expect([r.states, r.nodes]).toEqual([2520, 6257]);
    // (explore() counts the root as a node; the loop, transitions)
    expect(bareDfs(s, undefined)).toEqual({ states: 2520, nodes: 6256 });
    expect(bareDfs(s, [])).toEqual({ states: 2520, nodes: 6256 });
  });

  it('reads pan\'s report, and a report without its figures is a one-line error', () => {
    const report = [
      'State-vector 88 byte, depth reached 87, errors: 0',
      '   295148 states, stored',
      '   679720 states, matched',
      '   974868 transitions (= stored+matched)',
      'pan: elapsed time 0.24 seconds',
    ].join('\n');
    expect(parsePan(report, 0.4)).toEqual({ errors: 0, stored: 295_148, transitions: 974_868, searchS: 0.24, wallS: 0.4 });
    expect(() => parsePan(report.replace('states, stored', 'stored'), 0.4)).toThrow(/^pan: no 'states, stored' in its report: State-vector 88 byte, depth reached 87, errors: 0$/);
  });

  // (SPIN is not a dependency: where it is installed, the graphs are compared)
  const path = process.env.PATH ?? '';
  it.skipIf(!onPath('spin', path) || !(onPath('gcc', path) ?? onPath('cc', path)))('with SPIN installed: pan builds, finds no error, and its graph is thpsim\'s', async () => {
    const out = await section(path);
    expect(out.filter((l) => /^ {2}SPIN pan \(compiled C\) +2,528 +6,257 +errors: 0 /.test(l))).toHaveLength(1);
    expect(out.filter((l) => thpsimRow.test(l))).toHaveLength(1);
    expect(out).toContain('  graph     SPIN 2,528 stored − 8 terminal (pan -DCOUNT_END -c0) = 2,520, thpsim 2,520 distinct; 6,257 transitions, thpsim 6,257 search nodes: the same graph');
    expect(out.filter((l) => bareRow.test(l))).toHaveLength(1);
  });
});
