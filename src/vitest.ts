/**
 * thpsim's vitest matchers: `import 'thpsim/vitest'` in a test file (or a setupFiles
 * entry) registers them with expect.extend and declares their types.
 *
 *   const r = run(await loadScenario('madvise-collapse.yaml'));
 *   expect(r).toHaveSyscallReturn('EAGAIN', { actor: 'M2', call: 'MADV_COLLAPSE' });
 *   expect(await explore(s, { strategy: 'pct', schedules: 500 })).toHaveNoViolation();
 *
 * They read the public results only (docs/json.md): a run() result — outcome in kernel
 * terms — or an explore() result — what every schedule, or some schedule, did. A failing
 * matcher says what broke and where, the interleaving in brief, and writes a replay file
 * of the run that shows it ($THPSIM_COUNTEREXAMPLES, default counterexamples/ under the
 * cwd) for `thpsim inspect` and `thpsim run --replay`.
 */
import { expect } from 'vitest';
import type { ExploreResult, PageCacheSummary } from './index.ts';
import type { Verdict } from './sched/run.ts';
import { compiledChart } from './sched/run.ts';
import { getActorKind } from './registry.ts';
import { resultOrigin } from './origin.ts';
import {
  type CallFilter, type Return, type Syscall, checkActor, lastScan, parseOutcome, parseSyscall, resultOf, returnsOneOf, selected, showFilter, showReturns,
} from './vitest/results.ts';
import { counterexampleReport, explorationLine, runContext, witnessReport } from './vitest/report.ts';

export { replayDirectory } from './vitest/report.ts';
export type { CallFilter, Return };

/** What some schedule of an exploration should (or, with .not, should never) reach. */
export type ReachTarget =
  /** An actor's end as `outcomes` counts it ("M1: ok madvise(...) = 0"): the whole key, or a RegExp on it. */
  | { outcome: string | RegExp }
  /** A system call returning this (an errno by name), of `actor`, `call` if given. */
  | ({ returns: Return } & CallFilter)
  | { scanResult: string }
  /** An atomic step of an actor kind's chart taken (by its state path); `kind` may be left out if one kind has it. */
  | { state: string; kind?: string }
  | { verdict: Verdict }
  | { invariant: string }
  /** A trylock failing on this lock kind (`page_lock`, `mmap_lock`, ...). */
  | { contention: string };

export interface ThpsimMatchers<R = unknown> {
  /** run: every selected system call returned `expected` (or one of them); explore: in every schedule. */
  toHaveSyscallReturn(expected: Return | readonly Return[], filter?: CallFilter): R;
  /** run: a scan reported this SCAN_* result (`scan_results`), or a MADV_COLLAPSE failed on it (`(last: SCAN_…)`); explore: in some schedule. */
  toHaveScanResult(scan: string): R;
  /** run: it ended with this verdict. */
  toHaveVerdict(verdict: Verdict): R;
  /** run: verdict ok (no invariant broken, no deadlock, no liveness failure, within the step bound); explore: no counterexample. */
  toHaveNoViolation(): R;
  /** run: every pmd of `mm` in [addr, addr + length) maps a huge page (kind 'huge', or 'huge_zero'). */
  toBePmdMapped(mm: string, addr: number | string, opts?: { length?: number; kind?: 'huge' | 'huge_zero' }): R;
  /** run: the file's page cache at the end has these fields (docs/json.md `page_cache`). */
  toHaveInPageCache(file: string, expected: Partial<PageCacheSummary>): R;
  /** run: these /proc/vmstat items, by name, have these values at the end (an event counter's is the run's count). */
  toHaveVmstat(expected: Record<string, unknown>): R;
  /** explore: every outcome ("actor: outcome results") equals one of these strings or matches one of these RegExps. */
  toHaveOutcomesWithin(allowed: readonly (string | RegExp)[]): R;
  /** explore: some schedule reached the target. */
  toReach(target: ReachTarget): R;
  /** explore: a dfs that covered every interleaving up to the step bound, with no counterexample. */
  toBeCompleteWithNoViolation(): R;
}

declare module 'vitest' {
  // (vitest's documented pattern for custom matchers' types; R is the assertion's T there)
  interface Assertion<T = any> extends ThpsimMatchers<T> {}
  interface AsymmetricMatchersContaining extends ThpsimMatchers {}
}

interface Ctx {
  isNot: boolean;
  equals(a: unknown, b: unknown): boolean;
}

interface Outcome {
  pass: boolean;
  message: () => string;
}

const VERDICTS: readonly Verdict[] = ['ok', 'violation', 'deadlock', 'liveness', 'step-bound', 'divergence'];
const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
const counts = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
const actorsOf = (e: ExploreResult) => [...new Set(Object.keys(e.outcomes).map((k) => parseOutcome(k).actor))];
/** An exploration's outcomes, one a line with the schedules that ended so. */
const outcomeLines = (e: ExploreResult) => Object.entries(e.outcomes).map(([k, n]) => `\n    ${k}  ${n}`).join('');
const lines = (...parts: (string | false | undefined)[]) => parts.filter((p) => p).join('\n');

/** The first counterexample, and what the others were: for any exploration matcher that failed on one. */
function counterexamples(x: ExploreResult): string {
  const [first, ...rest] = x.counterexamples;
  if (!first) return '';
  return lines(
    counterexampleReport(x, first),
    rest.length > 0 && `  also         ${rest.map((c) => `${c.verdict} ${c.violation.invariant} (seed ${c.seed})`).join(', ')}`,
  );
}

function toHaveSyscallReturn(this: Ctx, x: unknown, expected: Return | readonly Return[], filter: CallFilter = {}): Outcome {
  const r = resultOf('toHaveSyscallReturn', x, 'both');
  const want: readonly Return[] = Array.isArray(expected) ? expected : [expected as Return];
  const not = this.isNot ? 'not ' : '';
  if (r.run) {
    checkActor('toHaveSyscallReturn', filter, r.run.actors.map((a) => a.id));
    const calls = r.run.actors.flatMap((a) => a.results.map((t) => parseSyscall(a.id, t))).filter((c) => selected(c, filter));
    return {
      pass: calls.length > 0 && calls.every((c) => returnsOneOf(c, want)),
      message: () => lines(
        `expected ${showFilter(filter, 'every')} ${not}to return ${showReturns(want)}${calls.length ? '; it returned:' : ', but no such call returned'}`,
        ...calls.map((c) => `    ${c.actor}  ${c.text}`),
        runContext(r.run),
      ),
    };
  }
  const e = r.explored;
  checkActor('toHaveSyscallReturn', filter, actorsOf(e));
  // per outcome: the selected calls, and whether each returned what was expected; an actor
  // named in the filter that made no such call in a schedule did not return it there
  const outcomes = Object.entries(e.outcomes).map(([key, n]) => {
    const o = parseOutcome(key);
    const calls = o.calls.filter((c: Syscall) => selected(c, filter));
    const wrong = calls.some((c) => !returnsOneOf(c, want)) || (filter.actor === o.actor && calls.length === 0);
    return { key, n, calls, wrong };
  });
  const wrong = outcomes.filter((o) => o.wrong);
  const any = outcomes.some((o) => o.calls.length > 0);
  const shown = this.isNot ? outcomes.filter((o) => o.calls.length) : wrong;
  return {
    pass: any && wrong.length === 0,
    message: () => lines(
      `expected ${showFilter(filter, 'every')} ${not}to return ${showReturns(want)} in every schedule${!any ? ', but no such call returned in any' : this.isNot ? '; it did:' : '; these outcomes did not (schedules):'}`,
      ...shown.map((o) => `    ${o.key}  ${o.n}`),
      explorationLine(e),
      shown[0] && witnessReport(e, `outcome:${shown[0].key}`, outcomeName(shown[0].key)),
    ),
  };
}

function checkScan(matcher: string, scan: unknown): asserts scan is string {
  if (typeof scan !== 'string' || !/^SCAN_[A-Z_]+$/.test(scan)) throw new TypeError(`${matcher}: expected an enum scan_result name such as 'SCAN_PAGE_LOCK', got ${JSON.stringify(scan)}`);
}

function toHaveScanResult(this: Ctx, x: unknown, scan: string): Outcome {
  checkScan('toHaveScanResult', scan);
  const r = resultOf('toHaveScanResult', x, 'both');
  const not = this.isNot ? 'not ' : '';
  if (r.run) {
    // the scans' results, and the last one of each MADV_COLLAPSE that failed (its errno's cause)
    const got = [...r.run.scan_results, ...r.run.actors.flatMap((a) => a.results.map(lastScan).filter((s) => s !== undefined))];
    return {
      pass: got.includes(scan),
      message: () => lines(`expected the run ${not}to report ${scan}; it reported ${got.length ? got.join(', ') : 'no SCAN_* result'}`, runContext(r.run)),
    };
  }
  const e = r.explored;
  const { n, show } = scanReached(e, scan);
  const lasts = Object.entries(e.outcomes).flatMap(([k, m]) => (lastScan(k) ? [`${k} ${m}`] : []));
  return {
    pass: n > 0,
    message: () => lines(
      `expected ${this.isNot ? 'no' : 'some'} schedule to report ${scan}; scans reported (occurrences): ${counts(e.scanResults)}`,
      lasts.length > 0 && `  MADV_COLLAPSE failures (schedules): ${lasts.join('; ')}`,
      explorationLine(e),
      this.isNot && show(),
    ),
  };
}

/** How often an exploration's scans reported `scan`, or its MADV_COLLAPSE calls failed on it; and the first schedule that did. */
function scanReached(e: ExploreResult, scan: string): { n: number; show: () => string } {
  const ended = Object.keys(e.outcomes).filter((k) => lastScan(k) === scan);
  return {
    n: (e.scanResults[scan] ?? 0) + ended.reduce((s, k) => s + e.outcomes[k]!, 0),
    show: () => (e.scanResults[scan] ? witnessReport(e, `scan:${scan}`, scan) : ended[0] ? witnessReport(e, `outcome:${ended[0]}`, scan) : ''),
  };
}

function toHaveVerdict(this: Ctx, x: unknown, verdict: Verdict): Outcome {
  if (!VERDICTS.includes(verdict)) throw new TypeError(`toHaveVerdict: expected one of ${VERDICTS.join(', ')}, got ${JSON.stringify(verdict)}`);
  const r = resultOf('toHaveVerdict', x, 'run').run!;
  return {
    pass: r.verdict === verdict,
    message: () => lines(`expected the run ${this.isNot ? 'not ' : ''}to end ${verdict}; it ended ${r.verdict}`, runContext(r)),
  };
}

function toHaveNoViolation(this: Ctx, x: unknown): Outcome {
  const r = resultOf('toHaveNoViolation', x, 'both');
  if (r.run) {
    return {
      pass: r.run.verdict === 'ok',
      message: () => lines(this.isNot ? 'expected a violation; the run ended ok' : `expected no violation; the run ended ${r.run.verdict}`, runContext(r.run)),
    };
  }
  const e = r.explored;
  const n = e.counterexamples.length;
  return {
    // (no schedule run is no evidence: a time budget that ran out before the first)
    pass: n === 0 && e.schedules > 0,
    message: () => lines(
      e.schedules === 0
        ? 'expected no violation, but no schedule ran'
        : this.isNot
          ? `expected a violation across ${e.schedules} ${e.strategy} schedules; every one ended ok`
          : `expected no violation across ${e.schedules} ${e.strategy} schedules; ${plural(n, 'counterexample')} (schedules by verdict: ${counts(e.verdicts)}), the first:`,
      explorationLine(e),
      counterexamples(e),
    ),
  };
}

function toBePmdMapped(this: Ctx, x: unknown, mm: string, addr: number | string, opts: { length?: number; kind?: 'huge' | 'huge_zero' } = {}): Outcome {
  const r = resultOf('toBePmdMapped', x, 'run').run!;
  const pmds = r.page_tables[mm];
  if (!pmds) throw new TypeError(`toBePmdMapped: no mm '${mm}' in the run (its mms: ${Object.keys(r.page_tables).join(', ') || 'none'})`);
  const at = typeof addr === 'number' ? addr : Number(addr);
  if (!Number.isSafeInteger(at) || at < 0) throw new TypeError(`toBePmdMapped: expected an address such as 0x4000, got ${JSON.stringify(addr)}`);
  const kind = opts.kind ?? 'huge';
  if (kind !== 'huge' && kind !== 'huge_zero') throw new TypeError(`toBePmdMapped: expected kind 'huge' or 'huge_zero', got ${JSON.stringify(kind)}`);
  if (opts.length !== undefined && !(Number.isSafeInteger(opts.length) && opts.length > 0)) throw new TypeError(`toBePmdMapped: expected a length in bytes, got ${JSON.stringify(opts.length)}`);
  const size = r.hpage_pmd_nr * 4096;
  const first = Math.floor(at / size) * size;
  const end = at + (opts.length ?? size);
  const hex = (n: number) => `0x${n.toString(16)}`;
  const seen: string[] = [];
  let pass = true;
  for (let a = first; a < end; a += size) {
    const p = pmds.find((q) => Number(q.addr) === a);
    if (p?.kind !== kind) pass = false;
    seen.push(`    ${hex(a)}  ${p ? `${p.kind}${p.ptes ? ` (ptes: ${p.ptes.present} page, ${p.ptes.zero_page} ZERO_PAGE, ${p.ptes.none} none)` : ` pfn ${p.pfn}`}` : 'none'}`);
  }
  return {
    pass,
    message: () => lines(`expected ${mm} ${hex(first)}-${hex(Math.ceil(end / size) * size)} ${this.isNot ? 'not ' : ''}to be pmd-mapped (${kind}); its pmds:`, ...seen, runContext(r)),
  };
}

const CACHE_FIELDS: readonly (keyof PageCacheSummary)[] = ['nrpages', 'pages', 'holes', 'swap', 'i_size', 'huge'];

function toHaveInPageCache(this: Ctx, x: unknown, file: string, expected: Partial<PageCacheSummary>): Outcome {
  const r = resultOf('toHaveInPageCache', x, 'run').run!;
  const got = r.page_cache[file];
  if (!got) throw new TypeError(`toHaveInPageCache: no file '${file}' in the run (its files: ${Object.keys(r.page_cache).join(', ') || 'none'})`);
  const fields = Object.keys(expected ?? {}) as (keyof PageCacheSummary)[];
  const unknown = fields.find((f) => !CACHE_FIELDS.includes(f));
  if (unknown || !fields.length) throw new TypeError(`toHaveInPageCache: expected some of ${CACHE_FIELDS.join(', ')}${unknown ? `, got '${unknown}'` : ''}`);
  const differ = fields.filter((f) => !this.equals(got[f], expected[f]));
  return {
    pass: differ.length === 0,
    message: () => lines(
      `expected ${file}'s page cache ${this.isNot ? 'not ' : ''}to have ${fields.map((f) => `${f}=${JSON.stringify(expected[f])}`).join(' ')}; it has ${CACHE_FIELDS.map((f) => `${f}=${JSON.stringify(got[f])}`).join(' ')}`,
      runContext(r),
    ),
  };
}

function toHaveVmstat(this: Ctx, x: unknown, expected: Record<string, unknown>): Outcome {
  const r = resultOf('toHaveVmstat', x, 'run').run!;
  const names = Object.keys(expected ?? {});
  const unknown = names.find((n) => !(n in r.vmstat));
  if (unknown || !names.length) throw new TypeError(`toHaveVmstat: ${unknown ? `no /proc/vmstat item '${unknown}' in thpsim` : 'expected some /proc/vmstat items'} (it models: ${Object.keys(r.vmstat).join(', ')})`);
  const differ = names.filter((n) => !this.equals(r.vmstat[n], expected[n]));
  return {
    pass: differ.length === 0,
    message: () => lines(
      `expected vmstat ${this.isNot ? 'not ' : ''}to have ${names.map((n) => `${n} ${JSON.stringify(expected[n])}`).join(', ')}; it has ${names.map((n) => `${n} ${r.vmstat[n]}`).join(', ')}`,
      runContext(r),
    ),
  };
}

function toHaveOutcomesWithin(this: Ctx, x: unknown, allowed: readonly (string | RegExp)[]): Outcome {
  const e = resultOf('toHaveOutcomesWithin', x, 'explore').explored!;
  if (!Array.isArray(allowed)) throw new TypeError('toHaveOutcomesWithin: expected an array of outcome strings and RegExps');
  const ok = (k: string) => allowed.some((a) => (typeof a === 'string' ? a === k : a.test(k)));
  const keys = Object.keys(e.outcomes);
  const outside = keys.filter((k) => !ok(k));
  return {
    pass: keys.length > 0 && outside.length === 0,
    message: () => lines(
      this.isNot
        ? `expected some outcome outside the set; all ${keys.length} were within it`
        : `expected every outcome within the set; ${outside.length ? 'these were not (schedules):' : 'no schedule ran'}`,
      ...outside.map((k) => `    ${k}  ${e.outcomes[k]}`),
      explorationLine(e),
      outside[0] !== undefined && witnessReport(e, `outcome:${outside[0]}`, outcomeName(outside[0])),
    ),
  };
}

/** A replay file's name for an outcome: `M2-EAGAIN`, `T1-SIGSEGV`. */
function outcomeName(key: string): string {
  const o = parseOutcome(key);
  return `${o.actor}-${o.outcome === 'ok' && o.calls.length ? o.calls.at(-1)!.ret : o.outcome}`;
}

/** How often some schedule reached a target, what it reached instead, and what shows one that did. */
function reached(e: ExploreResult, t: ReachTarget): { what: string; n: number; instead: string; show: () => string } {
  const none = () => '';
  if ('outcome' in t) {
    const keys = Object.keys(e.outcomes).filter((k) => (typeof t.outcome === 'string' ? k === t.outcome : t.outcome.test(k)));
    return {
      what: `outcome ${String(t.outcome)}`, n: keys.reduce((s, k) => s + e.outcomes[k]!, 0), instead: `outcomes (schedules):${outcomeLines(e)}`,
      show: () => (keys[0] ? witnessReport(e, `outcome:${keys[0]}`, outcomeName(keys[0])) : ''),
    };
  }
  if ('returns' in t) {
    checkActor('toReach', t, actorsOf(e));
    const keys = Object.keys(e.outcomes).filter((k) => parseOutcome(k).calls.some((c) => selected(c, t) && returnsOneOf(c, [t.returns])));
    return {
      what: `${showFilter(t, 'a')} returning ${t.returns}`, n: keys.reduce((s, k) => s + e.outcomes[k]!, 0), instead: `outcomes (schedules):${outcomeLines(e)}`,
      show: () => (keys[0] ? witnessReport(e, `outcome:${keys[0]}`, String(t.returns)) : ''),
    };
  }
  if ('scanResult' in t) {
    checkScan('toReach', t.scanResult);
    return { what: t.scanResult, ...scanReached(e, t.scanResult), instead: `SCAN_* results: ${counts(e.scanResults)}` };
  }
  if ('state' in t) {
    const kind = stepKind(e, t.state, t.kind);
    const c = e.coverage[kind]!;
    const missed = c.missed.includes(t.state);
    return { what: `${kind} stepping from ${t.state}`, n: missed ? 0 : 1, instead: `${kind}: ${c.reached} of ${c.steps} atomic steps taken`, show: none };
  }
  if ('verdict' in t) {
    if (!VERDICTS.includes(t.verdict)) throw new TypeError(`toReach: expected a verdict among ${VERDICTS.join(', ')}, got ${JSON.stringify(t.verdict)}`);
    const c = e.counterexamples.find((x) => x.verdict === t.verdict);
    return { what: `verdict ${t.verdict}`, n: e.verdicts[t.verdict] ?? 0, instead: `verdicts: ${counts(e.verdicts)}`, show: () => (c ? counterexampleReport(e, c) : '') };
  }
  if ('invariant' in t) {
    const c = e.counterexamples.find((x) => x.violation.invariant === t.invariant);
    return { what: `a violation of ${t.invariant}`, n: e.violations[t.invariant] ?? 0, instead: `violations: ${counts(e.violations)}`, show: () => (c ? counterexampleReport(e, c) : '') };
  }
  if ('contention' in t) return { what: `a failed trylock on ${t.contention}`, n: e.contention[t.contention] ?? 0, instead: `contention: ${counts(e.contention)}`, show: none };
  throw new TypeError(`toReach: expected one of { outcome }, { returns }, { scanResult }, { state }, { verdict }, { invariant }, { contention }, got ${JSON.stringify(t)}`);
}

/** The actor kind whose chart has the atomic step `state` (the one named, checked), or a one-line error. */
function stepKind(e: ExploreResult, state: string, kind: string | undefined): string {
  const scenario = resultOrigin.get(e)?.scenario;
  if (!scenario) throw new TypeError('toReach: { state } needs a result of thpsim\'s explore() (it reads the charts the scenario ran)');
  const kinds = kind === undefined ? Object.keys(e.coverage) : [kind];
  if (kind !== undefined && !e.coverage[kind]) throw new TypeError(`toReach: no actor kind '${kind}' in the exploration (its kinds: ${Object.keys(e.coverage).join(', ')})`);
  const has = kinds.filter((k) => compiledChart(getActorKind(k)!, scenario.variants).nodes.some((n) => n.kind === 'atomic' && n.step.length && n.path === state));
  if (!has.length) throw new TypeError(`toReach: no atomic step '${state}' in the ${kinds.join(' and ')} chart${kinds.length === 1 ? '' : 's'} (thpsim export chart <kind> lists them)`);
  if (has.length > 1) throw new TypeError(`toReach: '${state}' is a step of ${has.join(' and ')}: name one as { state, kind }`);
  return has[0]!;
}

function toReach(this: Ctx, x: unknown, target: ReachTarget): Outcome {
  const e = resultOf('toReach', x, 'explore').explored!;
  if (!target || typeof target !== 'object') throw new TypeError(`toReach: expected a target such as { scanResult: 'SCAN_PAGE_LOCK' }, got ${JSON.stringify(target)}`);
  const t = reached(e, target);
  return {
    pass: t.n > 0,
    message: () => lines(
      this.isNot
        ? `expected no schedule to reach ${t.what}; ${t.n === 1 && 'state' in target ? 'some schedule did' : `${plural(t.n, 'schedule')} did`}`
        : `expected some schedule to reach ${t.what}; none did. ${t.instead}`,
      explorationLine(e),
      this.isNot && t.show(),
    ),
  };
}

function toBeCompleteWithNoViolation(this: Ctx, x: unknown): Outcome {
  const e = resultOf('toBeCompleteWithNoViolation', x, 'explore').explored!;
  const why = e.strategy !== 'dfs'
    ? `a ${e.strategy} exploration is never complete: explore with strategy 'dfs'`
    : !e.complete
      ? `the dfs is not complete: ${e.stopped ? `stopped (${e.stopReason ?? 'interrupted'})` : `maxStates reached at ${e.states} states`}${e.counterexamples.length ? `, and ${plural(e.counterexamples.length, 'counterexample')}` : ''}`
      : e.counterexamples.length ? `the dfs is complete, with ${plural(e.counterexamples.length, 'counterexample')}, the first:` : '';
  return {
    pass: why === '',
    message: () => lines(
      `expected a complete dfs with no violation${why ? `; ${why}` : this.isNot ? ', and it was one' : ''}`,
      explorationLine(e),
      counterexamples(e),
    ),
  };
}

expect.extend({
  toHaveSyscallReturn, toHaveScanResult, toHaveVerdict, toHaveNoViolation, toBePmdMapped, toHaveInPageCache, toHaveVmstat,
  toHaveOutcomesWithin, toReach, toBeCompleteWithNoViolation,
});
