// Issue 18, items 3-5 and 7-9: the command line never answers silently wrong, never runs
// code a shared file names, never prints a stack trace or hangs. Each reproduction from
// the issue, run through the CLI in this process (test/helpers/cli.ts).
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers/cli.ts';
import { ReplayWriter } from '../src/cli/explore.ts';
import { explore } from '../src/explore/explore.ts';
import { loadScenario } from '../src/scenario/load.ts';

const tmp = mkdtempSync(join(tmpdir(), 'thpsim-hardening-'));
const OK = 'examples/zero-page-read-faults.yaml';
const POSTED = 'examples/zero-page-as-posted.yaml';
const json = (f: string) => JSON.parse(readFileSync(f, 'utf8'));
const write = (name: string, data: unknown) => {
  const f = join(tmp, name);
  writeFileSync(f, typeof data === 'string' ? data : JSON.stringify(data));
  return f;
};
/** One line on stderr, naming `file` (and the field, when given), exit 2. */
const refused = (r: { code: number; out: string; err: string }, file: string, field?: string, what?: RegExp) => {
  expect(r.code, r.err).toBe(2);
  expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
  expect(r.err.startsWith(`thpsim: ${file}: ${field ? `${field}: ` : ''}`), r.err).toBe(true);
  if (what) expect(r.err).toMatch(what);
  expect(r.out).toBe('');
};

/** A replay file of the as-posted zero-page finding, edited by `edit`. */
async function replay(name: string, edit: (r: Record<string, any>) => void = () => {}): Promise<string> {
  const base = join(tmp, 'posted.replay.json');
  if (!existsSync(base)) expect((await cli('run', POSTED, '--save-replay', base)).code).toBe(1);
  const r = json(base);
  edit(r);
  return write(name, r);
}

describe('merge takes the distinct shards of one exploration, each once (item 3)', () => {
  const shard = async (name: string, ...args: string[]) => {
    const r = await cli('explore', OK, '--schedules', '20', '--json', '--out', join(tmp, 'merge-cex'), ...args);
    expect(r.code, r.err).toBe(0);
    return write(name, r.out);
  };
  it('merges counts under any name: "constructor" summed from 0 (it came out as "function Object() { [native code] }3"), "__proto__" kept (it was dropped)', async () => {
    const [a, b] = [await shard('pa.json', '--shard', '0/2'), await shard('pb.json', '--shard', '1/2')];
    const edited = json(a);
    edited.outcomes = { ...edited.outcomes, constructor: 3 };
    Object.defineProperty(edited.outcomes, '__proto__', { value: 5, enumerable: true });
    const e = write('pa-edited.json', edited);
    const merged = await cli('merge', e, b, '--json');
    expect(merged.code, merged.err).toBe(0);
    const out = JSON.parse(merged.out).outcomes;
    expect(Object.hasOwn(out, '__proto__') && out.__proto__).toBe(5);
    expect(out.constructor).toBe(3);
  });

  it('merges 0/2 and 1/2 into the unsharded result; refuses the same shard twice, another n, other schedules, an unsharded result, one shard alone', async () => {
    const [a, b] = [await shard('a.json', '--shard', '0/2'), await shard('b.json', '--shard', '1/2')];
    const whole = json(await shard('whole.json'));
    const merged = await cli('merge', a, b, '--json');
    expect(merged.code, merged.err).toBe(0);
    expect(JSON.parse(merged.out)).toEqual(whole);
    refused(await cli('merge', a, a), a, 'exploration.shard', /shard 0\/2 again/);
    const c3 = await shard('c3.json', '--shard', '1/3');
    refused(await cli('merge', a, c3), c3, 'exploration.shard', /shard 1\/3, but .*a\.json is 0\/2/);
    const s30 = await shard('s30.json', '--shard', '1/2', '--schedules', '30');
    refused(await cli('merge', a, s30), s30, 'exploration.schedules', /30, but .*a\.json has 20/);
    const seed = await shard('seed.json', '--shard', '1/2', '--seed', '9');
    refused(await cli('merge', a, seed), seed, 'exploration.seed');
    refused(await cli('merge', join(tmp, 'whole.json'), b), join(tmp, 'whole.json'), 'exploration.shard', /a whole exploration/);
    refused(await cli('merge', a), 'thpsim merge', '<results>', /shard 1\/2 missing/);
    const other = write('other.json', (await cli('explore', 'examples/zero-page-as-posted.yaml', '--schedules', '20', '--json', '--shard', '1/2', '--out', join(tmp, 'merge-cex'))).out);
    refused(await cli('merge', a, other), other, 'exploration.scenario_hash');
  });
  it('validates what it reads: hand-edited fields are named, not added up', async () => {
    const a = await shard('a.json', '--shard', '0/2');
    const edited = (name: string, edit: (r: Record<string, any>) => void) => {
      const r = json(a);
      edit(r);
      return write(name, r);
    };
    const lots = edited('lots.json', (r) => (r.verdicts = 'lots'));
    refused(await cli('merge', lots), lots, 'verdicts');
    const negative = edited('negative.json', (r) => (r.schedules = -5));
    refused(await cli('merge', negative), negative, 'schedules');
    const more = edited('more.json', (r) => (r.verdicts.ok += 1));
    refused(await cli('merge', more), more, 'verdicts', /add up to 11, but the result has 10 schedules/);
    const fewer = edited('fewer.json', (r) => {
      r.schedules = 5;
      r.verdicts.ok = 5;
    });
    refused(await cli('merge', fewer), fewer, 'schedules', /runs 10, not 5/);
    const dfs = edited('dfs.json', (r) => (r.strategy = r.exploration.strategy = 'dfs'));
    refused(await cli('merge', dfs), dfs, 'strategy', /runs on one machine/);
    const old = edited('old.json', (r) => delete r.exploration);
    refused(await cli('merge', old), old, 'exploration');
  });
});

describe('a replay that does not match says so, or the combination is refused (item 4)', () => {
  it('--max-states 0 is refused, not "undefined distinct states"', async () => {
    const r = await cli('explore', OK, '--strategy', 'dfs', '--max-states', '0');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--max-states.*expected a positive integer number of states, got '0'/);
    expect(r.out).not.toMatch(/undefined/);
  });
  it('--depth above 10,000 is refused: every PCT schedule draws d - 1 change points (a depth of 10^9 hung before the first step)', async () => {
    const r = await cli('explore', OK, '--strategy', 'pct', '--depth', '1000000000');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--depth.*expected a positive integer depth, got '1000000000' \(at most 10000\)/);
    expect(r.out).toBe('');
  });
  it('export trace of a replay naming an actor that does not exist: refused, naming the decision', async () => {
    const f = await replay('no-actor.replay.json', (r) => (r.decisions[3].actor = 'ZZ'));
    refused(await cli('export', 'trace', f, '--format', 'ftrace'), f, 'decisions[3].actor', /no actor 'ZZ' in the scenario/);
    refused(await cli('run', '--replay', f), f, 'decisions[3].actor');
  });
  it('a replay that diverges from its decisions: the trace is written, stderr says where it diverged, exit 1', async () => {
    const f = await replay('diverges.replay.json', (r) => (r.decisions[3].state = 'nowhere'));
    for (const format of ['ftrace', 'perfetto']) {
      const r = await cli('export', 'trace', f, '--format', format);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`^thpsim: ${f}: decisions: the replay diverged: decision 3: \\w+ at nowhere`));
    }
    const run = await cli('run', '--replay', f);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/decisions: the replay diverged/);
  });
  it('a replay whose recorded verdict was edited: stderr says the replay gave another, exit 1', async () => {
    const f = await replay('edited.replay.json', (r) => {
      r.verdict = 'ok';
      delete r.violation;
    });
    const r = await cli('run', '--replay', f);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/verdict: VIOLATION/);
    expect(r.err).toMatch(new RegExp(`^thpsim: ${f}: verdict: recorded ok, replayed violation \\(illegal-transition\\): the file was edited, or the model changed`));
    const trace = await cli('export', 'trace', f, '--format', 'ftrace');
    expect(trace.code).toBe(1);
    expect(trace.err).toMatch(/verdict: recorded ok, replayed violation/);
    // the file as recorded replays silently
    const same = await cli('run', '--replay', await replay('same.replay.json'));
    expect([same.code, same.err]).toEqual([1, '']);
  });
  it('run SCENARIO --replay FILE, --replay with --seed, --replay with --save-replay: refused', async () => {
    const f = await replay('plain.replay.json');
    refused(await cli('run', OK, '--replay', f), 'thpsim run', '<scenario>', /runs the scenario the replay file holds/);
    refused(await cli('run', '--replay', f, '--seed', '3'), 'thpsim run', '--seed', /a replay file fixes the schedule/);
    refused(await cli('run', '--replay', f, '--save-replay', join(tmp, 'again.json')), 'thpsim run', '--save-replay', /already holds this run/);
    expect(existsSync(join(tmp, 'again.json'))).toBe(false);
  });
});

describe('a replay file runs no code it names unless --allow-plugins, and then only after validation (item 5)', () => {
  /** A replay whose scenario names a plugin that, imported, writes `marker`. */
  const withPlugin = async (name: string, edit: (s: Record<string, any>) => void = () => {}) => {
    const marker = join(tmp, `${name}.imported`);
    write(`${name}.mjs`, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\n`);
    const f = await replay(`${name}.replay.json`, (r) => {
      r.scenario_file = 'scenario.yaml';
      r.scenario.plugins = [`./${name}.mjs`];
      edit(r.scenario);
    });
    return { f, marker };
  };
  it('refused without --allow-plugins, by run, export trace and inspect: nothing imported', async () => {
    const { f, marker } = await withPlugin('plugin-refused');
    for (const args of [['run', '--replay', f], ['export', 'trace', f, '--format', 'ftrace'], ['inspect', f]]) {
      refused(await cli(...args), f, 'scenario.plugins', /names code to import \(\.\/plugin-refused\.mjs\): a replay file runs no code it names unless you pass --allow-plugins/);
    }
    expect(existsSync(marker)).toBe(false);
  });
  it('with --allow-plugins, a scenario that does not validate imports nothing', async () => {
    const { f, marker } = await withPlugin('plugin-invalid', (s) => (s.hpage_pmd_nr = 3));
    refused(await cli('run', '--replay', f, '--allow-plugins'), f, 'scenario.hpage_pmd_nr', /power of two/);
    const missing = await replay('plugin-missing.replay.json', (r) => (r.scenario.plugins = ['./nowhere.ts']));
    refused(await cli('run', '--replay', missing, '--allow-plugins'), missing, 'scenario.plugins[0]', /no such file: .*nowhere\.ts/);
    expect(existsSync(marker)).toBe(false);
  });
  it('with --allow-plugins and a valid scenario, the plugin is imported and the replay runs', async () => {
    const { f, marker } = await withPlugin('plugin-allowed');
    const r = await cli('run', '--replay', f, '--allow-plugins');
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/verdict: VIOLATION/);
    expect(readFileSync(marker, 'utf8')).toBe('ran');
  });
  it('--allow-plugins without --replay is refused (a scenario file\'s plugins always load)', async () => {
    refused(await cli('run', OK, '--allow-plugins'), 'thpsim run', '--allow-plugins');
  });
});

describe('no stack trace where the output goes (item 7) and no hang (item 8)', () => {
  const file = write('a-file', 'x');
  it('explore --out naming an existing file, a path under a file, a place that cannot be written: one line before the run', async () => {
    // (--schedules beyond what could run in the test: the check comes first)
    const args = [POSTED, '--schedules', '100000000'];
    refused(await cli('explore', ...args, '--out', file), file, '--out', /is a file: expected a directory there/);
    refused(await cli('explore', ...args, '--out', join(file, 'sub')), join(file, 'sub'), '--out', /a-file is a file/);
    refused(await cli('explore', ...args, '--out', '/proc/thpsim'), '/proc/thpsim', '--out', /cannot create the directory \/proc\/thpsim/);
    refused(await cli('explore', ...args, '--out', '/proc'), '/proc', '--out', /cannot write in this directory/);
  });
  it('the check leaves nothing behind; the replay files go where --out says, its folders made', async () => {
    const out = join(tmp, 'deep', 'er', 'cex');
    const clean = await cli('explore', OK, '--schedules', '5', '--out', out);
    expect(clean.code).toBe(0);
    expect(existsSync(join(tmp, 'deep'))).toBe(false);
    const found = await cli('explore', POSTED, '--schedules', '20', '--out', out);
    expect(found.code).toBe(1);
    expect(readdirSync(out).length).toBeGreaterThan(0);
  });
  it('replay files that cannot be written in --out during the run go to a temporary directory, and stderr says so', async () => {
    const s = await loadScenario(POSTED);
    const r = explore(s, { strategy: 'random', schedules: 20, shrinkBudget: 0 });
    expect(r.counterexamples.length).toBeGreaterThan(0);
    const writer = new ReplayWriter(join(file, 'gone'), POSTED, 'random', {});
    for (const c of r.counterexamples) writer.write(c);
    let err = '';
    const files = await writer.finish((l) => void (err += l));
    expect(err).toMatch(new RegExp(`^thpsim: --out: ${r.counterexamples.length} replay files? could not be written \\(.*a-file is a file.*\\); written in .*thpsim-counterexamples-\\w+ instead\\n$`));
    for (const f of files) expect(json(f).thpsim_replay).toBe(1);
  });
  it('--save-replay naming a directory is refused before the run; into a missing folder, the folder is made', async () => {
    refused(await cli('run', POSTED, '--save-replay', tmp), tmp, '--save-replay', /is a directory: expected a file name/);
    const f = join(tmp, 'missing', 'folder', 'r.json');
    const r = await cli('run', POSTED, '--save-replay', f);
    expect(r.code, r.err).toBe(1);
    expect(json(f).thpsim_replay).toBe(1);
    refused(await cli('run', POSTED, '--save-replay', '/proc/thpsim/r.json'), '/proc/thpsim', '--save-replay');
  });
  it('--workers above the machine\'s cores is refused unless --force-workers', async () => {
    const n = String(availableParallelism() + 1);
    refused(await cli('explore', OK, '--workers', n), 'thpsim explore', '--workers', /is more than this machine's \d+ cores.*--force-workers/);
    const forced = await cli('explore', OK, '--workers', n, '--force-workers', '--schedules', String(2 * Number(n)), '--out', join(tmp, 'forced'));
    expect(forced.code, forced.err).toBe(0);
  });

  it('--max-states whose shared table would not fit in memory, with --workers: refused (the allocation was an internal error)', async () => {
    refused(await cli('explore', OK, '--strategy', 'dfs', '--workers', '2', '--force-workers', '--max-states', '1000000000000'), 'thpsim explore', '--max-states',
      /: a dfs over worker threads lays out its visited-state table for every state at the start: 1,000,000,000,000 states need [\d.]+ GiB, more than half this machine's [\d.]+ GiB; expected fewer states with --workers\n$/);
  });
});

describe("a scenario's names are data, never object keys of their own", () => {
  it("an mm named __proto__ and a file named __proto__ are in the summary and the JSON (an assignment out['__proto__'] set the prototype: the mm vanished)", async () => {
    const f = write('proto.yaml', [
      'name: __proto__', 'hpage_pmd_nr: 8', 'files: [{ name: __proto__, size: 0x8000 }]',
      'mms: [{ name: __proto__, vmas: [{ start: 0x0, size: 0x8000 }, { start: 0x10000, size: 0x8000, file: __proto__, flags: [VM_READ, VM_WRITE, VM_SHARED] }] }]',
      'actors: [{ kind: task, id: __proto__, mm: __proto__, ops: [{ write: 0x0 }, { write: 0x10000 }] }]', '',
    ].join('\n'));
    const r = await cli('run', f, '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(Object.keys(j.page_tables)).toEqual(['__proto__']);
    expect(j.page_tables.__proto__.map((p: { kind: string }) => p.kind)).toEqual(['huge', 'pte_table']);
    expect(Object.keys(j.page_cache)).toEqual(['__proto__']);
    expect(j.page_cache.__proto__.pages).toBe(1);
    const text = await cli('run', f);
    expect(text.out).toMatch(/\npage tables:\n {2}__proto__: nr_ptes=2 MM_ANONPAGES=8 /);
    expect(text.out).toMatch(/\npage cache:\n {2}__proto__: i_size=8 nrpages=1 pages=1 /);
  });
});

describe('minor (item 9)', () => {
  it('run and explore given a replay file say to use --replay', async () => {
    const f = await replay('given.replay.json');
    refused(await cli('run', f), f, '', /this is a replay file, not a scenario: replay it with thpsim run --replay/);
    refused(await cli('explore', f), f, '', /this is a replay file/);
  });
  it('an error in a replay\'s embedded scenario names the replay file and the field under scenario', async () => {
    const f = await replay('bad-scenario.replay.json', (r) => (r.scenario.mms[0].name = 7));
    refused(await cli('run', '--replay', f), f, 'scenario.mms[0].name');
  });
  it('a copied broken-variant replay says where its plugin was looked for, not "Cannot find module"', async () => {
    const out = join(tmp, 'broken');
    expect((await cli('explore', 'examples/zero-page-broken-shrinker.yaml', '--schedules', '300', '--out', out)).code).toBe(1);
    // (copied three folders down: its scenario_file, relative, no longer leads to the example)
    mkdirSync(join(tmp, 'a', 'b', 'c'), { recursive: true });
    const copy = write('a/b/c/copied-broken.replay.json', readFileSync(join(out, readdirSync(out)[0]!), 'utf8'));
    const r = await cli('run', '--replay', copy, '--allow-plugins');
    refused(r, copy, 'scenario.plugins[0]', /no such file: .*broken_zero_page_shrinker\.ts \(\.\/variants\/broken_zero_page_shrinker\.ts from the directory of scenario_file/);
    expect(r.err).not.toMatch(/Cannot find module/);
  });
  it('a binary file\'s bytes are never echoed: control characters escaped, one line', async () => {
    const bytes = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0x1b, 0x5b, 0x32, 0x4a, 0xff, 0xfe, 0x0d, 0x0a, 0x07]);
    for (const name of ['binary.json', 'binary.yaml']) {
      const f = join(tmp, name);
      writeFileSync(f, bytes);
      const r = await cli('run', f);
      expect(r.code).toBe(2);
      expect(r.err).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f\ufffd]/);
      expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
    }
    const flag = await cli('run', OK, '--seed', '\x1b[2J\x07');
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/\\x1b\[2J\\x07/);
    expect(flag.err).not.toMatch(/[\x00-\x09\x0b-\x1f]/);
  });
  it('names in a scenario are printable', async () => {
    const f = write('escape-name.yaml', `${readFileSync(OK, 'utf8').replace('name: zero-page-read-faults', 'name: "\\e[2Jx"')}`);
    refused(await cli('run', f), f, 'name', /expected a printable name/);
  });
  it('--max-steps 0, --depth 0, --workers 0, --schedules 0, --time-budget 0s are refused', async () => {
    for (const args of [['run', OK, '--max-steps', '0'], ['explore', OK, '--max-steps', '0'], ['explore', OK, '--depth', '0'],
      ['explore', OK, '--workers', '0'], ['explore', OK, '--schedules', '0'], ['explore', OK, '--time-budget', '0s'], ['inspect', OK, '--max-steps', '0']]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(new RegExp(`option '${args[2]} <\\w+>' argument '0s?' is invalid\\. expected a (positive integer|duration of at least 1ms)`));
    }
  });
  it('seeds are 32-bit: a larger one is refused, not wrapped', async () => {
    expect((await cli('run', OK, '--seed', '4294967297')).err).toMatch(/got '4294967297' \(at most 4294967295\)/);
    const yaml = write('big-seed.yaml', readFileSync(OK, 'utf8').replace('seed: 1', 'seed: 4294967297'));
    refused(await cli('run', yaml), yaml, 'seed', /expected a seed up to 4294967295/);
  });
  it('progress lines with --workers count the counterexamples found', async () => {
    const r = await cli('explore', POSTED, '--workers', '2', '--force-workers', '--schedules', '200', '--out', join(tmp, 'progress'));
    expect(r.code).toBe(1);
    const last = r.err.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^explore: 200\/200 schedules, .* [1-9]\d* counterexamples$/);
  });
});

describe('found by the fuzz test (test/fuzz.test.ts)', () => {
  it('a file beyond 1 GiB, a mapping or write reaching past it: refused, not an internal error allocating its page cache', async () => {
    const f = write('huge-file.yaml', 'name: h\nfiles: [{ name: f, size: 0x7ffffffff000 }]\nmms: [{ name: m, vmas: [] }]\nactors: [{ kind: task, id: T, mm: m, ops: [] }]\n');
    refused(await cli('run', f), f, 'files[0].size', /expected a size up to 0x40000000 \(1 GiB\): files are modelled page by page/);
    const grow = write('grow-file.yaml', 'name: g\nfiles: [{ name: f, size: 0x4000 }]\nmms: [{ name: m, vmas: [{ start: 0, size: 0x4000, file: f, pgoff: 0x3ffff }] }]\nactors: [{ kind: task, id: T, mm: m, ops: [{ pwrite: { file: f, offset: 0x7ffffffff000 } }] }]\n');
    refused(await cli('run', grow), grow, 'mms[0].vmas[0].pgoff', /expected the mapping to end within 0x40000000 bytes of the file/);
    const write1 = write('write-far.yaml', 'name: g\nfiles: [{ name: f, size: 0x4000 }]\nmms: [{ name: m, vmas: [] }]\nactors: [{ kind: task, id: T, mm: m, ops: [{ pwrite: { file: f, offset: 0x7ffffffff000 } }] }]\n');
    refused(await cli('run', write1), write1, 'actors[0].ops[0].pwrite.offset', /expected a range within 0x40000000 bytes/);
  });
  it('an unknown key is the field named, quoted when it is no identifier', async () => {
    const f = write('unknown.json', { name: 'u', mms: [], actors: [{ kind: 'huge_zero_page_shrinker', id: 'k' }], 'max_st\u0001eps': 1 });
    refused(await cli('run', f), f, '["max_st\\u0001eps"]', /unknown field/);
    const g = write('unknown-nested.json', { name: 'u', mms: [{ name: 'm', vmas: [], pages: 3 }], actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [] }] });
    refused(await cli('run', g), g, 'mms[0].pages', /unknown field/);
  });
  it('no command, or export without one: one line naming what was expected, not the usage', async () => {
    refused(await cli(), 'thpsim', '<command>', /expected one of run, explore, merge, list, inspect, export/);
    refused(await cli('export'), 'thpsim export', '<command>', /expected one of chart, trace/);
    const r = await cli('run', OK, '--schedules', '3');
    expect(r.err).toBe("error: unknown option '--schedules' (Did you mean --schedule?)\n");
  });
  it('the YAML parser\'s warnings (which quote the input) are not printed', async () => {
    const f = write('tagged.yaml', '!foo x\n');
    refused(await cli('run', f), f, '', /expected a mapping/);
  });
});
