#!/usr/bin/env node
// The thpsim command. An installed package runs its compiled JavaScript (dist/, built by
// `npm run build`, which prepare and prepack run). A checkout whose sources are newer than
// dist/ (or that has none) runs the TypeScript through tsx instead, so an edit is never
// shadowed by an older build. Everything is found relative to this file (through a symlink
// too: npm link, npm install -g), never the working directory — tsx would otherwise read
// the tsconfig.json of whatever directory thpsim is run from.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const compiled = new URL('dist/src/cli/main.js', root);
const stamp = new URL('dist/.built', root);

/** Whether some source file was written after dist/ was built (a checkout being edited). */
function sourcesNewer() {
  if (!existsSync(new URL('src/', root))) return false;
  if (!existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  for (const dir of ['src', 'machines']) {
    const base = fileURLToPath(new URL(`${dir}/`, root));
    for (const f of readdirSync(base, { recursive: true })) {
      if (statSync(base + f).mtimeMs > built) return true;
    }
  }
  return false;
}

// THPSIM_SOURCES=1 runs the sources even where dist/ is fresh (what the bench compares)
if (process.env.THPSIM_SOURCES !== '1' && existsSync(compiled) && !sourcesNewer()) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('tsconfig.json', root)) });
  await import('../src/cli/main.ts');
}
