// npm run build (run by prepare: npm ci, npm install in a checkout, npm pack, npm publish):
// the TypeScript compiled to dist/ with its declarations, the inspector's static page copied
// beside the compiled server, and dist/.built stamped last — bin/thpsim.js runs dist/ only
// when no source is newer. Built beside dist/ and moved into place whole, so a thpsim started
// meanwhile runs the old build or the new one, never half of one.
import { execFileSync } from 'node:child_process';
import { cpSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const next = `${root}dist.${process.pid}`;
try {
  execFileSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`, '--outDir', next], { stdio: 'inherit' });
  cpSync(`${root}src/inspect/page`, `${next}/src/inspect/page`, { recursive: true });
  writeFileSync(`${next}/.built`, 'built by src/build/build.mjs: bin/thpsim.js runs dist/ while no source is newer than this file\n');
  rmSync(`${root}dist`, { recursive: true, force: true });
  renameSync(next, `${root}dist`);
} catch (e) {
  rmSync(next, { recursive: true, force: true });
  process.stderr.write(`build failed: ${e.message.split('\n')[0]}\n`);
  process.exit(1);
}
