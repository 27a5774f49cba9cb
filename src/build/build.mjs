// npm run build (run by prepare and prepack): the TypeScript compiled to dist/ with its
// declarations, the inspector's static page copied beside the compiled server, and
// dist/.built stamped last — bin/thpsim.js runs dist/ only when no source is newer.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(`${root}dist`, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
cpSync(`${root}src/inspect/page`, `${root}dist/src/inspect/page`, { recursive: true });
writeFileSync(`${root}dist/.built`, `${new Date().toISOString()}\n`);
