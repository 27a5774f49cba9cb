// A scenario whose run would be 10^12 steps long (one huge zero page shrinker, passing
// endlessly): for the commands' handling of long runs — Ctrl-C, progress, step caps.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes the scenario (named long-run, seed 1) as long.yaml in `dir`; its path. */
export function writeLongRun(dir: string): string {
  const file = join(dir, 'long.yaml');
  writeFileSync(file, [
    'name: long-run', 'hpage_pmd_nr: 8', 'max_steps: 1000000000000',
    'mms: [{ name: m, vmas: [{ start: 0x0, size: 0x8000 }] }]',
    'actors: [{ kind: huge_zero_page_shrinker, id: kswapd, passes: 1000000000, interval_us: 0 }]', '',
  ].join('\n'));
  return file;
}
