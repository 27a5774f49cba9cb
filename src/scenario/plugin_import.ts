/**
 * Importing a scenario's plugin (or an extension given on the command line) into the
 * running thpsim. A plugin imports `thpsim/extend` (and may import `thpsim`): those names
 * resolve to this very thpsim's modules, wherever the plugin lives — so it registers into
 * the registry the run reads, not into a second copy of thpsim found next to the plugin.
 * A plugin written in TypeScript is compiled as it is imported (tsx), also by a thpsim
 * that runs compiled JavaScript (also under a user's vitest, which leaves node_modules to
 * node). Under vitest on thpsim's own sources, vitest's resolver (vitest.config.ts) and
 * compiler do both.
 */
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

/** The resolve hook, in the loader's thread: thpsim's public names to this thpsim's files. */
const HOOKS = `
let names = {};
export function initialize(data) { names = data; }
export async function resolve(specifier, context, next) {
  // (resolved on by the next hook, so a loader registered before this one — tsx — also sees it)
  return next(Object.hasOwn(names, specifier) ? names[specifier] : specifier, context);
}
`;

let namesHooked = false;
let typescriptHooked = false;

/** Whether this thpsim runs compiled JavaScript (dist/) rather than its TypeScript sources. */
const compiled = import.meta.url.endsWith('.js');

export async function importPlugin(path: string): Promise<unknown> {
  // (vitest compiles and resolves thpsim's own sources itself; a compiled thpsim in a
  // user's node_modules is outside vitest's transform, and imports as under node)
  if (compiled || !process.env.VITEST) {
    if (!namesHooked) {
      const ext = compiled ? 'js' : 'ts';
      const own = (f: string) => new URL(`../${f}.${ext}`, import.meta.url).href;
      register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, {
        data: { thpsim: own('index'), 'thpsim/extend': own('extend'), 'thpsim/vitest': own('vitest') },
      });
      namesHooked = true;
    }
    if (compiled && !typescriptHooked && /\.[cm]?tsx?$/.test(path)) {
      // (no tsconfig: not the working directory's, which may say anything)
      const { register: registerTsx } = await import('tsx/esm/api');
      registerTsx({ tsconfig: false });
      typescriptHooked = true;
    }
  }
  return import(pathToFileURL(path).href);
}
