/**
 * Which scenario produced a result of the library's run() or explore(), kept beside the
 * result rather than in it: the result stays the documented JSON object (docs/json.md),
 * and thpsim/vitest's matchers can still write a replay file of what they report.
 */
import type { Scenario } from './scenario/schema.ts';
import type { Decision, Verdict } from './sched/run.ts';
import type { Violation } from './bus/events.ts';

/** One schedule of an exploration, enough for a replay file: `thpsim run --replay` runs it again. */
export interface Witness {
  seed: number;
  decisions: Decision[];
  verdict: Verdict;
  violation?: Violation;
}

export interface ResultOrigin {
  /** The scenario as run (with the variants the options added): scenarioSource has its data. */
  scenario: Scenario;
  /**
   * explore(): the first schedule to reach each outcome (`outcome:` and the outcomes key)
   * and each SCAN_* result (`scan:` and the result), so a matcher can show one.
   */
  witnesses?: Map<string, Witness>;
}

export const resultOrigin = new WeakMap<object, ResultOrigin>();
