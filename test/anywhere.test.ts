// thpsim run from anywhere (issue 18, item 11): the bin script finds its files relative to
// itself, never the working directory. Each command the README documents, run from a
// temporary directory outside the checkout — by the bin path, and through the symlinks
// `npm link` / `npm install -g .` make (<prefix>/bin/thpsim -> ../lib/node_modules/thpsim/bin/thpsim.js,
// <prefix>/lib/node_modules/thpsim -> the checkout) — with a tsconfig.json there that would
// break the sources if tsx read it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { servedUrl } from './helpers/served.ts';

const REPO = realpathSync(fileURLToPath(new URL('..', import.meta.url)));
const BIN = join(REPO, 'bin', 'thpsim.js');

describe('thpsim from a directory outside the checkout', () => {
  let away: string;
  let linked: string;
  const ex = (name: string) => join(REPO, 'examples', name);

  beforeAll(() => {
    away = realpathSync(mkdtempSync(join(tmpdir(), 'thpsim-away-')));
    expect(away.startsWith(REPO)).toBe(false);
    // as npm install -g . lays it out
    const prefix = join(away, 'prefix');
    mkdirSync(join(prefix, 'bin'), { recursive: true });
    mkdirSync(join(prefix, 'lib', 'node_modules'), { recursive: true });
    symlinkSync(REPO, join(prefix, 'lib', 'node_modules', 'thpsim'));
    linked = join(prefix, 'bin', 'thpsim');
    symlinkSync('../lib/node_modules/thpsim/bin/thpsim.js', linked);
    // a working directory whose tsconfig.json remaps the packages thpsim imports
    const cwd = join(away, 'work');
    mkdirSync(cwd);
    writeFileSync(join(cwd, 'nope.ts'), 'export const parse = () => { throw new Error("the working directory\'s tsconfig.json was read"); };\n');
    writeFileSync(join(cwd, 'tsconfig.json'), JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { yaml: ['./nope.ts'], commander: ['./nope.ts'], xstate: ['./nope.ts'] } } }));
  });

  afterAll(() => {
    if (away) rmSync(away, { recursive: true, force: true });
  });

  /** Runs thpsim in away/work: by the bin path (`node .../bin/thpsim.js`) or as the linked command. */
  const thpsim = (how: 'bin' | 'linked', ...args: string[]) => {
    const [cmd, argv] = how === 'bin' ? [process.execPath, [BIN, ...args]] : [linked, args];
    const r = spawnSync(cmd, argv, { cwd: join(away, 'work'), encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it('run, list, export chart and export trace, by the bin path and through npm\'s symlinks', () => {
    for (const how of ['bin', 'linked'] as const) {
      const r = thpsim(how, 'run', ex('zero-page-read-faults.yaml'), '--seed', '7');
      expect(r.err, how).toBe('');
      expect(r.code, how).toBe(0);
      expect(r.out).toMatch(/^thpsim run: zero-page-read-faults .*\nverdict: OK after \d+ steps/);
    }
    const list = thpsim('linked', 'list');
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^actor kinds:\n {2}task /);
    const chart = thpsim('linked', 'export', 'chart', 'khugepaged', '--format', 'mermaid');
    expect(chart.code).toBe(0);
    expect(chart.out).toMatch(/^stateDiagram-v2\n/);
    const trace = thpsim('linked', 'export', 'trace', ex('zero-page-read-faults.yaml'), '--format', 'perfetto');
    expect(trace.code).toBe(0);
    expect(JSON.parse(trace.out)).toBeTruthy();
  }, 240_000);

  it('explore (with worker threads) writes its counterexamples in the working directory, and run --replay reproduces one there', () => {
    const r = thpsim('linked', 'explore', ex('zero-page-as-posted.yaml'), '--strategy', 'pct', '--schedules', '40', '--workers', '2', '--force-workers', '--shrink', '0');
    expect(r.code, r.err).toBe(1);
    const dir = join(away, 'work', 'counterexamples');
    expect(existsSync(dir)).toBe(true);
    const replay = readdirSync(dir).find((f) => f.endsWith('.replay.json'))!;
    expect(replay).toBeDefined();
    const again = thpsim('bin', 'run', '--replay', join('counterexamples', replay));
    expect(again.code, again.err).toBe(1);
    expect(again.out).toMatch(/verdict: VIOLATION/);
  }, 240_000);

  it('a replay shipped in examples/ and its variant plugin resolve from the checkout', () => {
    const r = thpsim('linked', 'run', '--replay', ex('collapse-shmem-as-posted-holes.replay.json'));
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    const broken = thpsim('linked', 'run', ex('zero-page-broken-shrinker.yaml'));
    expect(broken.err).toBe('');
    expect([0, 1]).toContain(broken.code);
  }, 240_000);

  it('inspect serves its page (read from the checkout) and stops on SIGTERM', async () => {
    const file = join(away, 'work', 'khugepaged-only.yaml');
    copyFileSync('test/fixtures/khugepaged-only.yaml', file);
    const child = spawn(linked, ['inspect', 'khugepaged-only.yaml'], { cwd: join(away, 'work'), stdio: ['ignore', 'pipe', 'pipe'] });
    const { url, err } = await servedUrl(child);
    try {
      expect(await (await fetch(url)).text()).toContain('<script type="module" src="/app.js">');
      expect((await fetch(`${url}app.js`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(err()).toBe('');
  }, 120_000);
});
