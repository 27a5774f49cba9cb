// `node --import ./test/helpers/loaded_modules.mjs ...`: appends every module URL the process
// resolves to the file named by $LOADED_MODULES (what a CLI command loads, for the tests).
import { register } from 'node:module';

register('./loaded_modules_hooks.mjs', import.meta.url, { data: { log: process.env.LOADED_MODULES } });
