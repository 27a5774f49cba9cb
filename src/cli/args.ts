/** Option parsers shared by the thpsim commands. */
import { InvalidArgumentError } from 'commander';
import { ScenarioError } from '../scenario/load.ts';

/**
 * An integer option from `min` (default 0) up to `max`: anything else — a bound of 0 that
 * would make the command do nothing, a number beyond what is exact — is a one-line error
 * naming what was expected.
 */
export const intArg = (what: string, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) => (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) > max || Number(v) < min) {
    const kind = min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer from ${min}`;
    throw new InvalidArgumentError(`expected ${kind} ${what}, got '${v}'${max < Number.MAX_SAFE_INTEGER ? ` (at most ${max})` : ''}`);
  }
  return Number(v);
};

/**
 * The step bound of a command that holds every step of its run in memory (inspect's page,
 * export trace): a `--max-steps` above `most` is refused here, before any file is read; for
 * the scenario's own max_steps, the bound to run with — a higher one runs its first `most`
 * steps, and `note(verdict)` says so on stderr (`shows`: "the page shows") when the run
 * reached it.
 */
export function stepBound(command: string, given: number | undefined, most: number, holds: string, shows: string) {
  if (given !== undefined && given > most) {
    throw new ScenarioError(command, '--max-steps', `expected at most ${most.toLocaleString('en-US')}: ${holds}, got ${given.toLocaleString('en-US')}`);
  }
  return (scenarioBound: number): { maxSteps: number | undefined; note(verdict: string): void } => {
    const capped = given === undefined && scenarioBound > most;
    return {
      maxSteps: capped ? most : given,
      note: (verdict) => {
        if (!capped || verdict !== 'step-bound') return;
        process.stderr.write(`${command}: ${shows} the run's first ${most.toLocaleString('en-US')} steps, the most it holds; the run goes on past them (max_steps ${scenarioBound.toLocaleString('en-US')})\n`);
      },
    };
  };
}

/** A repeatable option's values, in order (`--plugin a.ts --plugin b.ts`). */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];
