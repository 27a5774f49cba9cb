/** Option parsers shared by the thpsim commands. */
import { InvalidArgumentError } from 'commander';

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

/** A repeatable option's values, in order (`--plugin a.ts --plugin b.ts`). */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];
