// The direction of the layers (issue 21): the model, its world (src/world: snapshots, the
// state hash, footprints) and the scheduler that runs it know nothing of the explorer,
// which is a client of them. An import the other way would tie the model's step to a
// search strategy again.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BELOW_THE_EXPLORER = ['src/world', 'src/sched', 'src/memory', 'src/engine', 'src/bus', 'src/check'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.[cm]?[jt]s$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** Every module specifier a file names: static imports and re-exports, and import(). */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) found.push(m[1]!);
  return found;
}

describe('layering', () => {
  it('no file in the world, the scheduler, the memory model, the engine, the bus or the monitors imports src/explore', () => {
    const offending: string[] = [];
    let files = 0;
    for (const dir of BELOW_THE_EXPLORER) {
      for (const file of sources(dir)) {
        files++;
        for (const spec of specifiers(readFileSync(file, 'utf8'))) {
          if (/(^|\/)explore\//.test(spec)) offending.push(`${file}: ${spec}`);
        }
      }
    }
    expect(files).toBeGreaterThan(30);
    expect(offending).toEqual([]);
  });

  it('the check itself sees an import of the explorer', () => {
    expect(specifiers("import { x } from '../explore/explore.ts';\nexport * from \"./y.ts\";").filter((s) => /(^|\/)explore\//.test(s))).toEqual(['../explore/explore.ts']);
  });
});
