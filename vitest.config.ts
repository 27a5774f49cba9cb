// The tests run the TypeScript sources. A test, or an example extension's test, imports
// the package by its public names (thpsim, thpsim/vitest, thpsim/extend) as a user's
// project does: here those names resolve to the sources, in a package to dist/.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (f: string) => fileURLToPath(new URL(`./src/${f}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^thpsim$/, replacement: src('index.ts') },
      { find: /^thpsim\/vitest$/, replacement: src('vitest.ts') },
      { find: /^thpsim\/extend$/, replacement: src('extend.ts') },
    ],
  },
});
