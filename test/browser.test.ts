// The browser the tests drive (test/helpers/browser.ts): THPSIM_BROWSER is honoured, and the
// npm-shipped Chromium needs nothing from the machine but the C library's.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { SYSTEM_PATHS, browserChoice, browsersUnderTest, bundledBrowser, findBrowser, systemBrowser } from './helpers/browser.ts';

describe('the browser finder', () => {
  it('THPSIM_BROWSER: bundled hides every system path, system refuses the bundled one, unset tests both where both exist', () => {
    expect(browsersUnderTest({ THPSIM_BROWSER: 'bundled' })).toEqual(['bundled']);
    expect(browsersUnderTest({ THPSIM_BROWSER: 'system' })).toEqual(['system']);
    expect(browsersUnderTest({})).toEqual(systemBrowser() ? ['system', 'bundled'] : ['bundled']);
    expect(() => browserChoice({ THPSIM_BROWSER: 'firefox' })).toThrow(/THPSIM_BROWSER=firefox: expected system, bundled or auto/);
    const b = findBrowser('bundled');
    expect(b.kind).toBe('bundled');
    expect(SYSTEM_PATHS).not.toContain(b.executablePath);
    expect(b.executablePath).toMatch(/node_modules\/\.cache\/thpsim-chromium\/[\d.]+\/chromium$/);
    const auto = findBrowser('auto');
    expect(auto.kind).toBe(systemBrowser() ? 'system' : 'bundled');
    if (!systemBrowser()) expect(() => findBrowser('system')).toThrow(/THPSIM_BROWSER=system, but none of/);
  }, 60_000);

  it('the npm-shipped Chromium takes NSS, NSPR and expat from its own libraries, only the C library\'s from the machine', () => {
    const b = bundledBrowser();
    const ldd = spawnSync('ldd', [b.executablePath], { encoding: 'utf8', env: { ...process.env, ...b.env } });
    if (ldd.error) return; // (no ldd here: nothing to check it with)
    const libs = [...ldd.stdout.matchAll(/^\s*(\S+) => (.*?) \(0x/gm)].map(([, name, path]) => [name!, path!] as const);
    expect(libs.map(([n]) => n)).toEqual(expect.arrayContaining(['libnss3.so', 'libnspr4.so', 'libexpat.so.1']));
    expect(ldd.stdout).not.toMatch(/not found/);
    const own = dirname(b.executablePath);
    const fromMachine = libs.filter(([, path]) => !path.startsWith(`${own}/`)).map(([n]) => n).sort();
    for (const n of fromMachine) expect(n, `${n} comes from the machine`).toMatch(/^(libc|libm|libdl|libpthread|libgcc_s)\.so\.\d+$/);
  }, 60_000);
});
