// thpsim/vitest's matchers as a user's test imports them: each passing and failing on the
// examples, the failure's text (invariant, actor, state, step, interleaving, replay file),
// and the replay file it names run again by `thpsim run --replay` to the same end.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExploreResult, type RunResult, explore, loadScenario, run } from 'thpsim';
import 'thpsim/vitest';
import { interleaving, lastSteps } from '../src/vitest/report.ts';
import { cli } from './helpers/cli.ts';

let dir: string;
const before = process.env.THPSIM_COUNTEREXAMPLES;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'thpsim-matchers-'));
  process.env.THPSIM_COUNTEREXAMPLES = dir;
});
afterAll(() => {
  if (before === undefined) delete process.env.THPSIM_COUNTEREXAMPLES;
  else process.env.THPSIM_COUNTEREXAMPLES = before;
  rmSync(dir, { recursive: true, force: true });
});

/** The message of the assertion `f` makes, which must fail. */
function failure(f: () => void): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the assertion passed');
}

/** The replay file a failure message names: it exists, in the directory the test chose, and the message says how to inspect it. */
function replayOf(message: string): string {
  const m = /^ {2}replay {7}(\S+)$/m.exec(message);
  expect(m, message).not.toBeNull();
  const path = m![1]!;
  expect(path.startsWith(dir)).toBe(true);
  expect(existsSync(path)).toBe(true);
  expect(message).toContain(`  inspect      thpsim inspect ${path}`);
  return path;
}

/** `thpsim run --replay FILE --json`: the run the replay file reproduces. */
async function replayed(path: string): Promise<RunResult> {
  const r = await cli('run', '--replay', path, '--json');
  expect(r.err).toBe('');
  return JSON.parse(r.out) as RunResult;
}

const load = (name: string) => loadScenario(`examples/${name}.yaml`);

describe('on one run', () => {
  let two: RunResult;
  let collapse: RunResult;
  let zero: RunResult;
  beforeAll(async () => {
    two = run(await load('madvise-collapse-two-callers'));
    collapse = run(await load('madvise-collapse'));
    zero = run(await load('zero-page-as-posted'));
  });

  it('toHaveSyscallReturn: every selected call returned the value or errno; a failure lists what they returned and writes the run', async () => {
    expect(two).toHaveSyscallReturn(0, { actor: 'M1' });
    expect(two).toHaveSyscallReturn('EAGAIN', { actor: 'M2', call: 'MADV_COLLAPSE' });
    expect(two).toHaveSyscallReturn([0, 'EAGAIN'], { call: 'madvise' });
    expect(two).not.toHaveSyscallReturn('EAGAIN');
    const msg = failure(() => expect(two).toHaveSyscallReturn('EAGAIN', { call: 'MADV_COLLAPSE' }));
    expect(msg).toContain('expected every MADV_COLLAPSE to return EAGAIN; it returned:');
    expect(msg).toContain('    M1  madvise(0x0, 0x4000, MADV_COLLAPSE) = 0');
    expect(msg).toContain('    M2  madvise(0x0, 0x4000, MADV_COLLAPSE) = -1 EAGAIN (last: SCAN_PAGE_COUNT)');
    expect(msg).toContain(`  run          madvise-collapse-two-callers, seed ${two.seed}: ok after ${two.steps} steps`);
    expect(msg).toContain(`  interleaving ${interleaving(two.schedule)}`);
    const again = await replayed(replayOf(msg));
    expect(again.trace_hash).toBe(two.trace_hash);
    expect(failure(() => expect(two).toHaveSyscallReturn(0, { actor: 'M1', call: 'munmap' }))).toContain('expected every munmap of M1 to return 0, but no such call returned');
    expect(failure(() => expect(two).toHaveSyscallReturn(0, { actor: 'M3' }))).toBe('toHaveSyscallReturn: no actor \'M3\' in the scenario (its actors: M1, M2)');
  });

  it('toHaveScanResult: a scan\'s result, or the one a MADV_COLLAPSE failed on', async () => {
    const r = run(await load('collapse-shmem-scan-page-lock'));
    expect(r.scan_results).toContain('SCAN_PAGE_LOCK');
    expect(r).toHaveScanResult('SCAN_PAGE_LOCK');
    expect(two).toHaveScanResult('SCAN_PAGE_COUNT');
    const msg = failure(() => expect(r).toHaveScanResult('SCAN_PAGE_LRU'));
    expect(msg).toContain(`expected the run to report SCAN_PAGE_LRU; it reported ${r.scan_results.join(', ')}`);
    expect((await replayed(replayOf(msg))).trace_hash).toBe(r.trace_hash);
    expect(failure(() => expect(r).toHaveScanResult('PAGE_LRU'))).toBe('toHaveScanResult: expected an enum scan_result name such as \'SCAN_PAGE_LOCK\', got "PAGE_LRU"');
  });

  it('toHaveNoViolation and toHaveVerdict: a failure names the invariant, the actor, the state it stepped from and the step', async () => {
    expect(two).toHaveNoViolation();
    expect(two).toHaveVerdict('ok');
    expect(zero).toHaveVerdict('violation');
    expect(zero).not.toHaveNoViolation();
    const v = zero.violations[0]!;
    const msg = failure(() => expect(zero).toHaveNoViolation());
    expect(msg).toContain('expected no violation; the run ended violation');
    expect(msg).toContain(`  invariant    ${v.invariant}: ${v.message}`);
    expect(msg).toContain(`  actor        ${v.actor}, stepping from ${v.state}`);
    expect(msg).toContain(`  step         ${v.step}`);
    expect(msg).toContain(lastSteps(zero.schedule, v.step).join('\n'));
    expect(msg).toMatch(new RegExp(` {4}${v.step} {2}${v.actor} +${v.state.replaceAll('.', '\\.')}\\n`));
    const path = replayOf(msg);
    expect(path).toContain(`zero-page-as-posted.run.seed${zero.seed}.${v.invariant}.replay.json`);
    const again = await replayed(path);
    expect(again.verdict).toBe('violation');
    expect(again.violations[0]).toEqual(v);
    expect(failure(() => expect(zero).toHaveVerdict('deadlock'))).toContain('expected the run to end deadlock; it ended violation');
    // @ts-expect-error: the matchers' types (module augmentation of vitest's Assertion) know the verdicts
    expect(failure(() => expect(zero).toHaveVerdict('broken'))).toBe('toHaveVerdict: expected one of ok, violation, deadlock, liveness, step-bound, divergence, got "broken"');
  });

  it('toBePmdMapped: every pmd of the range maps a huge page', () => {
    expect(collapse).toBePmdMapped('m1', 0, { length: 0x8000 });
    expect(collapse).toBePmdMapped('m1', '0x4000');
    expect(collapse).not.toBePmdMapped('m1', 0x8000);
    const msg = failure(() => expect(collapse).toBePmdMapped('m1', 0x4000, { length: 0x8000 }));
    expect(msg).toContain('expected m1 0x4000-0xc000 to be pmd-mapped (huge); its pmds:\n    0x4000  huge pfn 0x8\n    0x8000  none');
    replayOf(msg);
    // @ts-expect-error: a pmd maps a huge page or the huge zero page
    expect(failure(() => expect(collapse).toBePmdMapped('m1', 0, { kind: 'pte_table' }))).toBe('toBePmdMapped: expected kind \'huge\' or \'huge_zero\', got "pte_table"');
    expect(failure(() => expect(collapse).toBePmdMapped('m9', 0))).toBe('toBePmdMapped: no mm \'m9\' in the run (its mms: m1)');
  });

  it('toHaveInPageCache and toHaveVmstat: the fields and items named, compared as toEqual does', () => {
    expect(collapse).toHaveInPageCache('f', { huge: [0, 4], holes: 0 });
    expect(collapse).toHaveVmstat({ thp_collapse_alloc: 2, nr_shmem_hugepages: expect.any(Number) });
    expect(failure(() => expect(collapse).toHaveInPageCache('f', { huge: [0] })))
      .toContain('expected f\'s page cache to have huge=[0]; it has nrpages=8 pages=8 holes=0 swap=0 i_size=8 huge=[0,4]');
    const msg = failure(() => expect(collapse).toHaveVmstat({ thp_collapse_alloc: 1, thp_file_mapped: 2 }));
    expect(msg).toContain('expected vmstat to have thp_collapse_alloc 1, thp_file_mapped 2; it has thp_collapse_alloc 2, thp_file_mapped 2');
    replayOf(msg);
    expect(failure(() => expect(collapse).toHaveVmstat({ thp_collapse: 1 }))).toMatch(/^toHaveVmstat: no \/proc\/vmstat item 'thp_collapse' in thpsim \(it models: .*thp_collapse_alloc/);
    expect(failure(() => expect(collapse).toHaveInPageCache('g', { holes: 0 }))).toBe('toHaveInPageCache: no file \'g\' in the run (its files: f)');
  });

  it('what is not a result is a one-line error naming what the matcher takes', async () => {
    expect(failure(() => expect(42).toHaveSyscallReturn(0))).toBe('toHaveSyscallReturn: expected the result of thpsim\'s run() or explore(), got number');
    const e = await explore(await load('madvise-collapse'), { schedules: 1 });
    expect(failure(() => expect(e).toHaveVerdict('ok'))).toBe('toHaveVerdict: expected the result of thpsim\'s run(), got an explore() result');
    expect(failure(() => expect(two).toReach({ verdict: 'ok' }))).toBe('toReach: expected the result of thpsim\'s explore(), got a run() result');
  });
});

describe('over an exploration', () => {
  let pct: ExploreResult;
  let callers: ExploreResult;
  beforeAll(async () => {
    pct = await explore(await load('zero-page-as-posted'), { strategy: 'pct', schedules: 100 });
    callers = await explore(await load('madvise-collapse-two-callers'), { schedules: 100 });
  });

  it('toHaveNoViolation: a failure shows the first counterexample minimised, and its replay file reproduces it', async () => {
    expect(callers).toHaveNoViolation();
    expect(pct).not.toHaveNoViolation();
    const c = pct.counterexamples[0]!;
    const msg = failure(() => expect(pct).toHaveNoViolation());
    expect(msg).toContain(`expected no violation across 100 pct schedules; ${pct.counterexamples.length} counterexamples`);
    expect(msg).toContain(`  invariant    ${c.violation.invariant}: ${c.violation.message}`);
    expect(msg).toContain(`  actor        ${c.violation.actor}, stepping from ${c.violation.state}`);
    expect(msg).toContain(`  interleaving ${interleaving(c.decisions)}`);
    expect(msg).toContain(`  also         ${pct.counterexamples[1]!.verdict} ${pct.counterexamples[1]!.violation.invariant}`);
    const path = replayOf(msg);
    expect(path).toContain(`zero-page-as-posted.pct.seed${c.seed}.${c.violation.invariant}.replay.json`);
    const again = await replayed(path);
    expect(again.violations[0]).toEqual(c.violation);
    // (the minimiser did without some actors: the replay's scenario leaves them out)
    expect(c.removedActors.length).toBeGreaterThan(0);
    for (const id of c.removedActors) expect(again.actors.map((a) => a.id)).not.toContain(id);
  });

  it('toHaveSyscallReturn over every schedule, and toHaveOutcomesWithin: a failure shows the first schedule outside the set', async () => {
    // (SCAN_PAGE_COMPOUND is EINVAL: madvise_collapse_errno())
    expect(callers).toHaveSyscallReturn([0, 'EAGAIN', 'EINVAL'], { actor: 'M2' });
    expect(callers).not.toHaveSyscallReturn(0, { actor: 'M2' });
    const msg = failure(() => expect(callers).toHaveSyscallReturn(0, { actor: 'M2' }));
    expect(msg).toMatch(/expected every system call of M2 to return 0 in every schedule; these outcomes did not \(schedules\):\n {4}M2: ok madvise\(0x0, 0x4000, MADV_COLLAPSE\) = -1 (EAGAIN|EINVAL) \(last: SCAN_\w+\)  \d+\n/);
    const shown = /\n {4}(M2: .*)  \d+\n/.exec(msg)![1]!;
    expect(msg).toMatch(/\n {2}first seen {3}seed \d+: ok after \d+ steps\n/);
    // the replay file is the first schedule with the first outcome listed
    const again = await replayed(replayOf(msg));
    expect(`M2: ok ${again.actors.find((a) => a.id === 'M2')!.results.join(' ')}`).toBe(shown);

    const returned = /^M[12]: ok madvise\(0x0, 0x4000, MADV_COLLAPSE\) = (0|-1 E(AGAIN|INVAL) \(last: SCAN_\w+\))$/;
    expect(callers).toHaveOutcomesWithin([returned]);
    const zero = ['M1: ok madvise(0x0, 0x4000, MADV_COLLAPSE) = 0', 'M2: ok madvise(0x0, 0x4000, MADV_COLLAPSE) = 0'];
    expect(callers).not.toHaveOutcomesWithin(zero);
    const out = failure(() => expect(callers).toHaveOutcomesWithin(zero));
    expect(out).toContain('expected every outcome within the set; these were not (schedules):\n    M1: ok madvise(0x0, 0x4000, MADV_COLLAPSE) = -1 EAGAIN');
    const outside = /\n {4}(M\d): (.*)  \d+\n/.exec(out)!;
    const first = await replayed(replayOf(out));
    expect(`ok ${first.actors.find((a) => a.id === outside[1])!.results.join(' ')}`).toBe(outside[2]);
  });

  it('toReach and toHaveScanResult: some schedule reached the outcome, result, step, verdict or invariant', async () => {
    expect(callers).toReach({ returns: 'EAGAIN', actor: 'M2' });
    expect(callers).toReach({ outcome: /^M1: ok .* = 0$/ });
    // (MADV_COLLAPSE's scans here publish no mm_khugepaged_scan_file result: the calls' own `(last: …)` count)
    expect(callers.scanResults).toEqual({});
    expect(callers).toHaveScanResult('SCAN_PAGE_COUNT');
    expect(callers).toReach({ scanResult: 'SCAN_PAGE_COUNT' });
    expect(pct).toReach({ invariant: 'illegal-transition' });
    expect(pct).toReach({ verdict: 'violation' });
    expect(pct).toReach({ state: 'page_fault.do_huge_pmd_anonymous_page.set_huge_zero_page' });
    expect(callers).not.toReach({ verdict: 'deadlock' });
    expect(failure(() => expect(callers).toReach({ returns: 'ENOMEM', actor: 'M2', call: 'MADV_COLLAPSE' })))
      .toMatch(/^expected some schedule to reach a MADV_COLLAPSE of M2 returning ENOMEM; none did\. outcomes \(schedules\):\n {4}M1: ok madvise\(0x0, 0x4000, MADV_COLLAPSE\) = -1 EAGAIN \(last: SCAN_\w+\)  \d+\n/);
    expect(failure(() => expect(callers).toReach({ returns: 0, actor: 'M3' }))).toBe('toReach: no actor \'M3\' in the scenario (its actors: M1, M2)');
    const msg = failure(() => expect(pct).not.toReach({ invariant: 'illegal-transition' }));
    expect(msg).toContain(`expected no schedule to reach a violation of illegal-transition; ${pct.violations['illegal-transition']} schedules did`);
    expect((await replayed(replayOf(msg))).violations[0]!.invariant).toBe('illegal-transition');
    expect(failure(() => expect(pct).toReach({ state: 'page_fault.nowhere' }))).toBe('toReach: no atomic step \'page_fault.nowhere\' in the huge_zero_page_shrinker and task charts (thpsim export chart <kind> lists them)');
    const scans = await explore(await load('collapse-shmem-scan-page-lock'), { schedules: 20 });
    expect(scans).toReach({ scanResult: 'SCAN_PAGE_LOCK' });
    const lock = failure(() => expect(scans).not.toHaveScanResult('SCAN_PAGE_LOCK'));
    expect(lock).toContain('expected no schedule to report SCAN_PAGE_LOCK; scans reported (occurrences): ');
    expect((await replayed(replayOf(lock))).trace_hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('toBeCompleteWithNoViolation: a complete dfs without counterexamples; otherwise why not', async () => {
    const dfs = await explore(await load('madvise-collapse'), { strategy: 'dfs' });
    expect(dfs).toBeCompleteWithNoViolation();
    expect(failure(() => expect(callers).toBeCompleteWithNoViolation())).toContain('a random exploration is never complete: explore with strategy \'dfs\'');
    const cut = await explore(await load('madvise-collapse'), { strategy: 'dfs', maxStates: 10 });
    expect(failure(() => expect(cut).toBeCompleteWithNoViolation())).toContain('the dfs is not complete: maxStates reached at');
    const bad = await explore(await load('zero-page-as-posted'), { strategy: 'dfs', stopOnFirst: true });
    const msg = failure(() => expect(bad).toBeCompleteWithNoViolation());
    expect(msg).toContain('the dfs is not complete: stopped (counterexample), and 1 counterexample');
    expect((await replayed(replayOf(msg))).violations[0]).toEqual(bad.counterexamples[0]!.violation);
  });
});
