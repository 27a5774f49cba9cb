/** thpsim's version: package.json's, found above this file (src/ in a checkout, dist/src/ in a package). */
import { readFileSync } from 'node:fs';

export function thpsimVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'thpsim' && pkg.version) return pkg.version;
    } catch {
      // not this one
    }
  }
  return 'unknown';
}
