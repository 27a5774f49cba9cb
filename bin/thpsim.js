#!/usr/bin/env node
// The thpsim command: loads the TypeScript sources through tsx's loader. Everything is found
// relative to this file (through a symlink too: npm link, npm install -g from the checkout),
// never the working directory — tsx would otherwise read the tsconfig.json of whatever
// directory thpsim is run from.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/cli/main.ts');
