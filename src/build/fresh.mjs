// Whether dist/ (npm run build) is the build of the sources beside it: built (its stamp,
// dist/.built, written last by build.mjs) and no file in src/ or machines/ newer than the
// stamp. bin/thpsim.js runs dist/ only then; the bench measures the compiled start-up only
// then. A package has no sources: its dist/ is what it ships.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `root`: the checkout's (or package's) directory URL, ending in '/'. */
export function distFresh(root) {
  if (!existsSync(new URL('dist/src/cli/main.js', root))) return false;
  if (!existsSync(new URL('src/', root))) return true;
  const stamp = new URL('dist/.built', root);
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  for (const dir of ['src', 'machines']) {
    const base = fileURLToPath(new URL(`${dir}/`, root));
    for (const f of readdirSync(base, { recursive: true })) {
      if (statSync(base + f).mtimeMs > built) return false;
    }
  }
  return true;
}
