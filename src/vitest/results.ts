/**
 * Reading the public results in kernel terms for thpsim/vitest: which object a matcher
 * was given, and the system calls an actor made, as strace prints them
 * (`madvise(0x0, 0x4000, MADV_COLLAPSE) = -1 EAGAIN (last: SCAN_PAGE_LOCK)`).
 */
import type { ExploreResult, RunResult } from '../index.ts';

export type Result = { run: RunResult; explored?: undefined } | { run?: undefined; explored: ExploreResult };

/** The run() or explore() result `x` is, or a one-line error naming what the matcher expected. */
export function resultOf(matcher: string, x: unknown, accepts: 'run' | 'explore' | 'both'): Result {
  const o = x as Partial<RunResult & ExploreResult> | null;
  const isRun = !!o && typeof o === 'object' && o.thpsim_result === 1 && Array.isArray(o.actors) && Array.isArray(o.schedule);
  const isExplore = !!o && typeof o === 'object' && Array.isArray(o.counterexamples) && typeof o.outcomes === 'object' && typeof o.coverage === 'object';
  if (isRun && accepts !== 'explore') return { run: x as RunResult };
  if (isExplore && accepts !== 'run') return { explored: x as ExploreResult };
  const want = { run: 'the result of thpsim\'s run()', explore: 'the result of thpsim\'s explore()', both: 'the result of thpsim\'s run() or explore()' }[accepts];
  const got = isRun ? 'a run() result' : isExplore ? 'an explore() result' : x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x;
  throw new TypeError(`${matcher}: expected ${want}, got ${got}`);
}

/** A system call result: `call(args) = ret`, ret an errno name (for `-1 EAGAIN`) or the value printed. */
export interface Syscall {
  actor: string;
  text: string;
  call: string;
  args: string[];
  ret: string;
}

const SYSCALL = /^([A-Za-z_]\w*)\((.*?)\) = (?:-1 ([A-Z][A-Z0-9]*)|(\S+))/;

export function parseSyscall(actor: string, text: string): Syscall {
  const m = SYSCALL.exec(text);
  if (!m) return { actor, text, call: '', args: [], ret: '' };
  return { actor, text, call: m[1]!, args: m[2] ? m[2].split(', ') : [], ret: m[3] ?? m[4]! };
}

/** An outcomes key, "id: outcome results...": the results are joined by spaces, each starting `call(`. */
export function parseOutcome(key: string): { actor: string; outcome: string; calls: Syscall[] } {
  const m = /^(.*?): (\S+)(?: (.*))?$/.exec(key);
  if (!m) return { actor: '', outcome: key, calls: [] };
  const calls = m[3] ? m[3].split(/ (?=[A-Za-z_]\w*\()/).map((t) => parseSyscall(m[1]!, t)) : [];
  return { actor: m[1]!, outcome: m[2]!, calls };
}

/** The SCAN_* result a MADV_COLLAPSE that failed ended on, as its result says: `= -1 EAGAIN (last: SCAN_PAGE_COUNT)`. */
export function lastScan(text: string): string | undefined {
  return /\(last: (SCAN_[A-Z_]+)\)/.exec(text)?.[1];
}

export interface CallFilter {
  /** Only this actor's calls (its id in the scenario, e.g. 'M1'). */
  actor?: string;
  /** Only this system call (`madvise`), or the calls with this argument (`MADV_COLLAPSE`). */
  call?: string;
}

export function selected(c: Syscall, f: CallFilter): boolean {
  return (f.actor === undefined || c.actor === f.actor) && (f.call === undefined || c.call === f.call || c.args.includes(f.call));
}

/** What a call should return: 0 and other values as numbers or as printed, an errno by name ('EAGAIN'). */
export type Return = number | string;

export function returnsOneOf(c: Syscall, expected: readonly Return[]): boolean {
  return expected.some((e) => String(e) === c.ret);
}

export const showReturns = (expected: readonly Return[]) => expected.map(String).join(' or ');

/** `every MADV_COLLAPSE of M2`, `a system call`: what a filter selects, for messages. */
export const showFilter = (f: CallFilter, quantifier: 'every' | 'a') => `${quantifier} ${f.call ?? 'system call'}${f.actor ? ` of ${f.actor}` : ''}`;

/** An actor named in a filter must be one the result has: a misspelt id is an error, not a vacuous pass. */
export function checkActor(matcher: string, f: CallFilter, actors: readonly string[]): void {
  if (f.actor !== undefined && !actors.includes(f.actor)) throw new TypeError(`${matcher}: no actor '${f.actor}' in the scenario (its actors: ${actors.join(', ')})`);
}
