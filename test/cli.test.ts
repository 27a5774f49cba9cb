// The CLI as a user runs it: the bin script, real files, exit codes and output.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLongRun } from './helpers/long_run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'thpsim-cli-'));

function thpsim(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/thpsim.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('thpsim run', () => {
  it('prints a readable summary of the example and exits 0', () => {
    const r = thpsim('run', 'examples/zero-page-read-faults.yaml');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^thpsim run: zero-page-read-faults {2}\(HPAGE_PMD_NR=8, seed 1, engine fast\)/);
    expect(r.out).toMatch(/verdict: OK after \d+ steps/);
    expect(r.out).toMatch(/vmstat \(non-zero\):\n( {2}\w+ -?\d+\n)+/);
    expect(r.out).toMatch(/\n {2}thp_zero_page_alloc 1\n/);
    expect(r.err).toBe('');
  });

  it('loads neither the inspector\'s chart layout (elkjs) nor the Stately inspector, which only inspect and --stately need', () => {
    const loaded = (...args: string[]) => {
      const log = join(tmp, `loaded-${args.length}.txt`);
      writeFileSync(log, '');
      const r = spawnSync(process.execPath, ['--import', './test/helpers/loaded_modules.mjs', ...args], {
        encoding: 'utf8', timeout: 60_000, env: { ...process.env, LOADED_MODULES: log },
      });
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(log, 'utf8');
    };
    const run = loaded('bin/thpsim.js', 'run', 'examples/zero-page-read-faults.yaml');
    // (the probe sees what is loaded: the sources, or dist/ where it is newer than them)
    expect(run).toMatch(/src\/sched\/run\.(ts|js)/);
    expect(run).not.toMatch(/elkjs|@statelyai|inspect\/payload\.(ts|js)|inspect\/layout\.(ts|js)/);
    // what it keeps out: the inspector's page data does load them
    expect(loaded('--import', 'tsx', '-e', "await import('./src/inspect/payload.ts')")).toMatch(/elkjs/);
  });

  it('--json is the documented result; same seed ⇒ same trace hash, another seed ⇒ another', () => {
    const a = JSON.parse(thpsim('run', 'examples/zero-page-read-faults.yaml', '--json', '--seed', '5').out);
    const b = JSON.parse(thpsim('run', 'examples/zero-page-read-faults.yaml', '--json', '--seed', '5').out);
    const c = JSON.parse(thpsim('run', 'examples/zero-page-read-faults.yaml', '--json', '--seed', '6').out);
    expect(a.thpsim_result).toBe(1);
    expect(a.verdict).toBe('ok');
    expect(a.trace_hash).toMatch(/^[0-9a-f]{16}$/);
    expect(b.trace_hash).toBe(a.trace_hash);
    expect(c.trace_hash).not.toBe(a.trace_hash);
    for (const key of ['actors', 'page_tables', 'mm_counters', 'page_cache', 'vmstat', 'violations', 'huge_zero_page']) {
      expect(a).toHaveProperty(key);
    }
    expect(a.vmstat).toHaveProperty('thp_zero_page_alloc');
    expect(a.actors.map((x: { id: string }) => x.id)).toEqual(['A1', 'A2', 'B1', 'C1', 'kswapd']);
  });

  it('a long run says how far it is on stderr, and Ctrl-C stops it: the state it reached, exit 130, and the command that runs it to that point', async () => {
    const long = writeLongRun(tmp);
    const child = spawn(process.execPath, ['bin/thpsim.js', 'run', long], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    // (interrupted once it says how far it is: the first line comes after a second)
    await new Promise<void>((resolve) => child.stderr.on('data', (d) => {
      err += d;
      if (/^run: [\d,]+ steps, [\d,]+\/s \(Ctrl-C stops it and prints the run so far\)$/m.test(err)) resolve();
    }));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(130);
    const m = /^verdict: INTERRUPTED after (\d+) steps, [\d.]+ s simulated; trace ([0-9a-f]{16})\n {2}\(Ctrl-C: the run had not ended; below, the state it had reached\)$/m.exec(out);
    expect(m, out).not.toBeNull();
    expect(out).toMatch(/\n {2}kswapd {2}huge_zero_page_shrinker {2}running in /);
    expect(out).toContain(`\nthe same run to this point: thpsim run ${long} --seed 1 --max-steps ${m![1]}\n`);
    // the same steps: that command ends where the interrupted run stood, at its step bound
    const again = thpsim('run', long, '--seed', '1', '--max-steps', m![1]!);
    expect(again.code).toBe(1);
    expect(again.out).toContain(`verdict: STEP-BOUND after ${m![1]} steps`);
    expect(again.out).toContain(`trace ${m![2]}`);
  }, 60_000);

  it('--save-replay and --json --schedule refuse a step bound above 50,000,000: a run that long cannot be kept decision by decision', () => {
    const r = thpsim('run', 'examples/zero-page-read-faults.yaml', '--max-steps', '60000000', '--save-replay', join(tmp, 'r.json'));
    expect(r.code).toBe(2);
    expect(r.err).toBe('thpsim: thpsim run: --save-replay: a run of up to 60,000,000 steps (max_steps) cannot be kept decision by decision: expected max_steps or --max-steps of at most 50,000,000 with it\n');
    expect(thpsim('run', 'examples/zero-page-read-faults.yaml', '--max-steps', '60000000').code).toBe(0);
  });

  it('--trace prints ftrace-shaped lines', () => {
    const r = thpsim('run', 'examples/zero-page-read-faults.yaml', '--trace');
    const lines = r.out.split('\n').filter((l) => l.includes('thpsim_step'));
    expect(lines.length).toBeGreaterThan(50);
    for (const l of lines.slice(0, 20)) expect(l).toMatch(/^ *[\w-]+-\d+ \[\d{3}\] \.\.\.\. +\d+\.\d{6}: thpsim_step: actor=\w+ /);
    expect(r.out).toMatch(/atomic_inc_not_zero: huge_zero_refcount \d+ -> \d+|cmpxchg: huge_zero_pfn 0x0 -> 0x/);
  });

  it('--trace on huge tmpfs recovery shows each populate pass, the pages migrated into the team (mm_migrate_pages) and the team completed', () => {
    const r = thpsim('run', 'examples/team-recovery.yaml', '--trace');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/verdict: OK after \d+ steps/);
    const ev = (name: string) => r.out.split('\n').filter((l) => new RegExp(`^ *kworker/u8:1-\\d+ \\[\\d{3}\\] \\.\\.\\.\\. +\\d+\\.\\d{6}: ${name}: `).test(l));
    const head = /team_head: op=EXPOSE pfn=(0x[0-9a-f]+) /.exec(r.out)![1]!;
    // pass 1 isolates the four misplaced pages and migrates each into its place in the team;
    // pass 2 enteams them
    expect(ev('shmem_recovery_populate').map((l) => l.split(': ').at(-1))).toEqual(Array(2).fill(`pass file=f index=0 head=${head}`));
    const into = ev('move_to_new_page').map((l) => Number(/newpfn=(0x[0-9a-f]+)/.exec(l)![1]) - Number(head));
    expect(into.sort()).toEqual([0, 1, 2, 3]);
    expect(ev('mm_migrate_pages').map((l) => l.split(': ').at(-1))).toEqual(['nr_succeeded=4 nr_failed=0 mode=MIGRATE_SYNC reason=shmem_recovery']);
    // the head's commands; 'usage': inc_team_pte_mapped in the rmap dance for T1's mapped page;
    // the last page counted clears the tag, then PageChecked
    expect(ev('team_head').map((l) => /op=(\w+)/.exec(l)![1])).toEqual(['PREPARE', 'EXPOSE', 'ENTEAM_FIRST', 'ENTEAM', 'ENTEAM', 'usage', 'ENTEAM_LAST', 'CLEAR_HUGEHOLE', 'SET_CHECKED']);
    expect(ev('shmem_recovery_work').map((l) => l.split(': ').at(-1))).toEqual([`end file=f index=0 head=${head} result=completed`]);
    // the summary ends with the recovery statistics as the series' debugfs files show them; --json has them too
    expect(r.out).toMatch(/\/sys\/kernel\/debug\/shmem_huge_recovery \(non-zero\):\n(  \w+:\d+\n)*  recov_completed:1\n/);
    const j = JSON.parse(thpsim('run', 'examples/team-recovery.yaml', '--json').out);
    expect(j.shmem_huge_recovery).toMatchObject({ recov_completed: 1, huge_alloced: 1, page_migrate: 4, page_teamed: 4, recov_failed: 0 });
  });

  it('a violation exits 1, says which invariant, actor, step and state, and the replay file reproduces it', () => {
    const replay = join(tmp, 'cex.json');
    const r = thpsim('run', 'examples/zero-page-as-posted.yaml', '--seed', '1', '--save-replay', replay);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/verdict: VIOLATION/);
    expect(r.out).toMatch(/invariant {2}illegal-transition/);
    expect(r.out).toMatch(/actor {6}T\d, stepping from page_fault\./);
    const saved = JSON.parse(readFileSync(replay, 'utf8'));
    expect(saved.decisions.length).toBeGreaterThan(5);
    expect(saved.decisions[0]).toHaveProperty('state');
    const first = JSON.parse(thpsim('run', 'examples/zero-page-as-posted.yaml', '--seed', '1', '--json').out);
    const again = thpsim('run', '--replay', replay, '--json');
    expect(again.code).toBe(1);
    const j = JSON.parse(again.out);
    expect(j.trace_hash).toBe(first.trace_hash);
    expect(j.violations).toEqual(first.violations);
  });

  it('the xstate engine gives the same trace as the compiled one', () => {
    const a = JSON.parse(thpsim('run', 'examples/zero-page-read-faults.yaml', '--json', '--engine', 'xstate').out);
    const b = JSON.parse(thpsim('run', 'examples/zero-page-read-faults.yaml', '--json').out);
    expect(a.engine).toBe('xstate');
    expect(a.trace_hash).toBe(b.trace_hash);
  });

  it('a malformed scenario gets one line naming the file, the field and what was expected, exit 2', () => {
    const f = join(tmp, 'bad.yaml');
    writeFileSync(f, 'name: bad\nhpage_pmd_nr: 8\nmms: [{ name: m, vmas: [{ start: 0x0, size: 0x8000 }] }]\nactors:\n  - { kind: task, id: T1, mm: m, ops: [{ read: "0x123" }] }\n');
    const r = thpsim('run', f);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^thpsim: ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: actors\\[0\\]\\.ops\\[0\\]`));
    expect(r.err).not.toMatch(/\n\s+at /);

    const g = join(tmp, 'bad2.yaml');
    writeFileSync(g, 'name: bad2\nhpage_pmd_nr: 6\nactors: [{ kind: huge_zero_page_shrinker, id: s }]\n');
    const r2 = thpsim('run', g);
    expect(r2.code).toBe(2);
    expect(r2.err.trim()).toBe(`thpsim: ${g}: hpage_pmd_nr: expected a power of two between 2 and 512`);

    const h = join(tmp, 'bad3.yaml');
    writeFileSync(h, 'name: bad3\nactors: [{ kind: khugepaged2, id: s }]\n');
    const r3 = thpsim('run', h);
    expect(r3.code).toBe(2);
    expect(r3.err).toMatch(/actors\[0\](\.kind)?: expected kind to be one of: task, huge_zero_page_shrinker, shmem_reclaim, khugepaged/);

    const x = join(tmp, 'bad5.yaml');
    writeFileSync(x, 'name: bad5\nhpage_pmd_nr: 8\nsysfs: { khugepaged: { max_ptes_none: 8 } }\nactors: [{ kind: khugepaged, id: k }]\n');
    const r5 = thpsim('run', x);
    expect(r5.code).toBe(2);
    expect(r5.err.trim()).toBe(`thpsim: ${x}: sysfs.khugepaged.max_ptes_none: more than HPAGE_PMD_NR - 1 (7) is invalid`);

    const y = join(tmp, 'bad4.yaml');
    writeFileSync(y, 'name: [unclosed\n');
    const r4 = thpsim('run', y);
    expect(r4.code).toBe(2);
    expect(r4.err).toMatch(/bad4\.yaml: not valid YAML \(line \d+\)/);
  });

  it('a missing file, a bad option and a missing argument are one-line errors, exit 2', () => {
    const r = thpsim('run', 'examples/no-such-scenario.yaml');
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('thpsim: examples/no-such-scenario.yaml: no such file');
    const s = thpsim('run', 'examples/zero-page-read-faults.yaml', '--seed', 'abc');
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/expected a non-negative integer seed, got 'abc'/);
    const t = thpsim('run');
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/expected a scenario file/);
  });

  it('thpsim list shows the registered actor kinds, variants and monitors', () => {
    const r = thpsim('list');
    expect(r.code).toBe(0);
    for (const name of ['task', 'huge_zero_page_shrinker', 'set_huge_zero_page_pmd_none_check', 'free_compound_page_with_order', 'page-refcount', 'data-integrity']) {
      expect(r.out).toContain(name);
    }
  });
  it('thpsim list --plugin lists what an extension adds; a missing one is one line', () => {
    const r = thpsim('list', '--plugin', 'examples/extensions/writeback/index.ts');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\n {2}writeback {2,}the flusher writing dirty file pages back/);
    expect(r.out).toMatch(/\n {2}collapse_file_writeback_check +\[fix\] /);
    expect(thpsim('list').out).not.toContain('collapse_file_writeback_check');
    const missing = thpsim('list', '--plugin', 'no/such/ext.ts');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^thpsim: thpsim list: --plugin: no such file: .*no\/such\/ext\.ts/);
  });
  it('thpsim list names every invariant a run can report, and every verdict', () => {
    const r = thpsim('list');
    expect(r.code).toBe(0);
    const listed = new Set([...r.out.matchAll(/^ {2}(\S+) /gm)].map((m) => m[1]));
    // every name the sources report: Kernel.violate('name', ...) in the model and the charts,
    // the monitors' names, the scheduler's { invariant: 'deadlock' }
    const reported = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.ts$/.test(e.name)) {
          const text = readFileSync(p, 'utf8');
          for (const m of text.matchAll(/\bviolate\(\s*'([^']+)'/g)) reported.add(m[1]!);
          for (const m of text.matchAll(/\binvariant: '([^']+)'/g)) reported.add(m[1]!);
          if (p.includes(join('src', 'check'))) for (const m of text.matchAll(/^ {2}name: '([^']+)'/gm)) reported.add(m[1]!);
        }
      }
    };
    walk('src');
    walk('machines');
    for (const name of ['illegal-transition', 'compound-free-order', 'lock-holder', 'page-table', 'deadlock', 'collapse_shmem', 'lock-order', 'sleep-in-atomic', 'spin-on-sleeper', 'team']) {
      expect(reported, 'the scan of the sources finds the names').toContain(name);
    }
    expect([...reported].filter((n) => !listed.has(n)), 'reported by the sources, missing from thpsim list').toEqual([]);
    for (const verdict of ['ok', 'violation', 'deadlock', 'liveness', 'step-bound', 'divergence']) expect(listed).toContain(verdict);
  });
});

describe('npm run bench', () => {
  it('a bad option is one line and the usage, exit 2; --help is the usage', () => {
    const bench = (...args: string[]) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    const bad = bench('--bogus');
    expect(bad.code).toBe(2);
    expect(bad.err).toBe(`bench: Unknown option '--bogus'\n${bench('--help').out}`);
    const runs = bench('--runs', 'five');
    expect(runs.code).toBe(2);
    expect(runs.err.split('\n')[0]).toBe("bench: --runs: expected a whole number, got 'five'");
    const help = bench('--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: npm run bench -- \[--runs N\].*\[--no-explore\] \[--no-startup\] \[--no-spin\]\n$/);
  });
});
