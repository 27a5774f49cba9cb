#!/usr/bin/env node
// The thpsim command. An installed package runs its compiled JavaScript (dist/, built by
// `npm run build`, which prepare runs). A checkout whose sources are newer than dist/ (or
// that has none) runs the TypeScript through tsx instead, so an edit is never shadowed by an
// older build (src/build/fresh.mjs decides). Everything is found relative to this file
// (through a symlink too: npm link, npm install -g), never the working directory — tsx would
// otherwise read the tsconfig.json of whatever directory thpsim is run from.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const compiled = new URL('dist/src/cli/main.js', root);

/** A package (no sources) runs dist/; a checkout, dist/ while it is the build of its sources. */
async function runCompiled() {
  if (!existsSync(new URL('src/', root))) return existsSync(compiled);
  const { distFresh } = await import('../src/build/fresh.mjs');
  return distFresh(root);
}

// THPSIM_SOURCES=1 runs the sources even where dist/ is fresh (what the bench compares)
if (process.env.THPSIM_SOURCES !== '1' && (await runCompiled())) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('tsconfig.json', root)) });
  await import('../src/cli/main.ts');
}
