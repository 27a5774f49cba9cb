/**
 * What a worker thread of `--workers N` runs from the sources (a compiled thpsim runs
 * dist/src/cli/explore_worker_shard.js): explore_worker_shard.ts and the sources it
 * imports, bundled by esbuild into one file. Started through tsx instead (as bin/thpsim.js
 * starts the CLI), a worker thread resolves and compiles some fifty files one by one and
 * takes over a second before it searches; from the bundle, a fifth of that.
 *
 * The bundle is built anew each time a parallel exploration starts (esbuild takes tens of
 * milliseconds), so it is never older than the sources, and written under
 * node_modules/.cache/thpsim/ by the hash of its contents (from there its imports of
 * xstate, rxjs and the rest resolve as the sources' do). Where it cannot be built or
 * written (a read-only install), the worker threads start through tsx, as before: slower
 * to start, the same results. A new bundle clears away all but the few last written
 * before it (a run's worker threads load their bundle as the run starts: removing the file
 * later does not reach them).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SHARD = new URL('../cli/explore_worker_shard.ts', import.meta.url);
/** The worker started through tsx. */
export const WORKER_VIA_TSX = new URL('../cli/explore_worker.js', import.meta.url);
const CACHE = new URL('../../node_modules/.cache/thpsim/', import.meta.url);

/**
 * The worker threads' entry: in a compiled thpsim (dist/), the compiled shard itself;
 * from the sources, the bundle if it could be built, else explore_worker.js through tsx.
 */
export async function workerEntry(): Promise<URL> {
  if (import.meta.url.endsWith('.js')) return new URL('../cli/explore_worker_shard.js', import.meta.url);
  try {
    return await bundle();
  } catch {
    return WORKER_VIA_TSX;
  }
}

async function bundle(): Promise<URL> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [fileURLToPath(SHARD)],
    bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', write: false, logLevel: 'silent',
  });
  const code = out.outputFiles[0]!.contents;
  const name = `explore_worker-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
  const file = new URL(name, CACHE);
  if (!existsSync(file)) {
    mkdirSync(CACHE, { recursive: true });
    // (written whole, then renamed: another process starting its workers never reads half of it)
    const part = new URL(`${name}.${process.pid}.part`, CACHE);
    writeFileSync(part, code);
    renameSync(part, file);
    pruneBundles(CACHE, name);
  }
  return file;
}

/** Bundles kept in the cache: the one just written and the last ones written before it. */
export const BUNDLES_KEPT = 4;

/** In `dir`, remove the bundles but `keep` and the BUNDLES_KEPT - 1 others last written (by mtime). */
export function pruneBundles(dir: URL, keep: string): void {
  const others = readdirSync(dir)
    .filter((f) => f !== keep && /^explore_worker-[0-9a-f]{16}\.mjs$/.test(f))
    .map((f) => {
      const path = new URL(f, dir);
      try {
        return { path, written: statSync(path).mtimeMs };
      } catch {
        return null; // (gone already: another process pruned it)
      }
    })
    .filter((x) => x !== null)
    .sort((a, b) => b.written - a.written);
  for (const { path } of others.slice(BUNDLES_KEPT - 1)) rmSync(path, { force: true });
}
