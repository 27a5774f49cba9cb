/** Option parsers shared by the thpsim commands. */
import { InvalidArgumentError } from 'commander';

/** A non-negative integer option (at most `max`): anything else is a one-line error naming what was expected. */
export const intArg = (what: string, max = Number.MAX_SAFE_INTEGER) => (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) > max) {
    throw new InvalidArgumentError(`expected a non-negative integer ${what}${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}, got '${v}'`);
  }
  return Number(v);
};
