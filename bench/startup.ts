/**
 * (f) the command's start-up: `thpsim --version`, `thpsim list` and one small run, each
 * a fresh process (wall time from spawn to exit, median of `runs`), from the compiled
 * JavaScript (dist/, what an installed package runs) and from the TypeScript sources
 * through tsx (THPSIM_SOURCES=1: what a checkout being edited runs). Goal: --version ≤ 0.2 s.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { distFresh } from '../src/build/fresh.mjs';

export interface StartupRow {
  command: string;
  compiled?: number;
  sources: number;
}

export function measureStartup(root: string, runs: number, median: (xs: number[]) => number): StartupRow[] {
  const bin = join(root, 'bin', 'thpsim.js');
  const fresh = distFresh(pathToFileURL(`${root}/`));
  const time = (args: string[], sources: boolean) => {
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...(sources ? { THPSIM_SOURCES: '1' } : {}) }, stdio: ['ignore', 'ignore', 'pipe'] });
      ms.push(performance.now() - t);
      if (r.status !== 0) throw new Error(`thpsim ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    }
    return median(ms) / 1000;
  };
  return [['--version'], ['list'], ['run', 'examples/zero-page-read-faults.yaml']].map((args) => ({
    command: `thpsim ${args.join(' ')}`,
    compiled: fresh ? time(args, false) : undefined,
    sources: time(args, true),
  }));
}
