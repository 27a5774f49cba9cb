/**
 * The headless browser the tests drive (test/inspect.test.ts), found without root, a
 * system package or any download but the npm registry's:
 *
 * - `system`: Debian's chromium (or another distribution's) where it is installed;
 * - `bundled`: the Chromium (chrome-headless-shell, linux x64) shipped inside the npm
 *   devDependency @sparticuz/chromium, brotli-compressed with the libraries it needs that a
 *   bare Debian lacks (NSS, NSPR, expat; built for Amazon Linux 2023). It is unpacked on
 *   first use under node_modules/.cache/thpsim-chromium/<version>/ (about 220 MB, two
 *   seconds) and launched with those libraries first on LD_LIBRARY_PATH and its own fonts.
 *   Only libc, libm, libdl, libpthread and libgcc_s come from the machine (glibc 2.25 or
 *   later): what any machine that runs Node has.
 *
 * THPSIM_BROWSER chooses: `bundled` ignores every system path (the test run with the
 * system browser hidden), `system` refuses the bundled one; unset, the system browser where
 * present, else the bundled one.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';

export type BrowserKind = 'system' | 'bundled';

export interface FoundBrowser {
  kind: BrowserKind;
  executablePath: string;
  /** The environment to launch it with (the bundled one's libraries and fonts). */
  env?: Record<string, string>;
  /** What it is, for messages. */
  description: string;
}

/** Where distributions install chromium: the first that exists is the system browser. */
export const SYSTEM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium', '/usr/bin/google-chrome-stable', '/usr/bin/google-chrome'];

const PACKAGE = '@sparticuz/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CACHE = join(ROOT, 'node_modules', '.cache', 'thpsim-chromium');

/** THPSIM_BROWSER, checked. */
export function browserChoice(env: NodeJS.ProcessEnv = process.env): BrowserKind | 'auto' {
  const v = env.THPSIM_BROWSER;
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === 'system' || v === 'bundled') return v;
  throw new Error(`THPSIM_BROWSER=${v}: expected system, bundled or auto`);
}

export function systemBrowser(): string | undefined {
  return SYSTEM_PATHS.find((p) => existsSync(p));
}

/** The browsers a test run drives: the one THPSIM_BROWSER names, or the system one (where present) and the bundled one. */
export function browsersUnderTest(env: NodeJS.ProcessEnv = process.env): BrowserKind[] {
  const choice = browserChoice(env);
  if (choice !== 'auto') return [choice];
  return systemBrowser() ? ['system', 'bundled'] : ['bundled'];
}

export function findBrowser(kind: BrowserKind | 'auto' = browserChoice()): FoundBrowser {
  if (kind !== 'bundled') {
    const path = systemBrowser();
    if (path) return { kind: 'system', executablePath: path, description: `system browser ${path}` };
    if (kind === 'system') throw new Error(`THPSIM_BROWSER=system, but none of ${SYSTEM_PATHS.join(', ')} exists`);
  }
  return bundledBrowser();
}

/** @sparticuz/chromium's compressed files, and its version. */
function bundledPackage(): { bin: string; version: string } {
  let entry: string;
  try {
    entry = createRequire(join(ROOT, 'package.json')).resolve(PACKAGE);
  } catch {
    throw new Error(`${PACKAGE} is not installed: run npm ci (it is a devDependency; its tarball holds the browser)`);
  }
  const pkg = join(dirname(entry), '..', '..');
  const { version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { version: string };
  return { bin: join(pkg, 'bin'), version };
}

export function bundledBrowser(): FoundBrowser {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`${PACKAGE} ships Chromium for linux x64 only (this is ${process.platform} ${process.arch}): install a system chromium`);
  }
  const { bin, version } = bundledPackage();
  const dir = join(CACHE, version);
  if (!existsSync(join(dir, 'chromium'))) unpack(bin, dir);
  return {
    kind: 'bundled',
    executablePath: join(dir, 'chromium'),
    env: {
      LD_LIBRARY_PATH: [join(dir, 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      FONTCONFIG_PATH: dir,
    },
    description: `${PACKAGE} ${version} (${join(dir, 'chromium')})`,
  };
}

/**
 * Unpacks the package's brotli files into `dir`: written whole into a directory of its own,
 * then renamed, so that a test file starting at the same time never sees half of it.
 */
function unpack(bin: string, dir: string): void {
  const part = `${dir}.${process.pid}.part`;
  rmSync(part, { recursive: true, force: true });
  // what a process killed while unpacking left behind
  const stale = new RegExp(`^${basename(dir).replace(/\./g, '\\.')}\\.(\\d+)\\.part$`);
  for (const f of existsSync(dirname(dir)) ? readdirSync(dirname(dir)) : []) {
    const pid = stale.exec(f)?.[1];
    if (pid && !alive(Number(pid))) rmSync(join(dirname(dir), f), { recursive: true, force: true });
  }
  mkdirSync(part, { recursive: true });
  writeFileSync(join(part, 'chromium'), brotliDecompressSync(readFileSync(join(bin, 'chromium.br'))), { mode: 0o755 });
  // al2023: lib/libnss3.so and the rest; fonts: fonts/Open_Sans/*.ttf; swiftshader: libGLESv2.so and the rest, beside the binary
  for (const tar of ['al2023.tar.br', 'fonts.tar.br', 'swiftshader.tar.br']) untar(brotliDecompressSync(readFileSync(join(bin, tar))), part);
  // (the package's fonts.conf names /tmp/fonts: this one names the fonts unpacked here, and
  // the machine's where it has some — the inspector's step buttons are symbols Open Sans lacks)
  writeFileSync(join(part, 'fonts.conf'), `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>${join(dir, 'fonts')}</dir>
  <dir>/usr/share/fonts</dir>
  <cachedir>${join(dir, 'fonts-cache')}</cachedir>
</fontconfig>
`);
  try {
    renameSync(part, dir);
  } catch (e) {
    rmSync(part, { recursive: true, force: true });
    // another process unpacked it first
    if (!existsSync(join(dir, 'chromium'))) throw e;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Extracts a ustar archive's regular files and directories into `to` (nothing outside it). */
function untar(buf: Buffer, to: string): void {
  const str = (off: number, len: number) => {
    const s = buf.subarray(off, off + len);
    const nul = s.indexOf(0);
    return s.subarray(0, nul < 0 ? len : nul).toString('utf8');
  };
  let off = 0;
  while (off + 512 <= buf.length) {
    if (buf.subarray(off, off + 512).every((b) => b === 0)) break;
    const prefix = buf.toString('utf8', off + 257, off + 263).startsWith('ustar') ? str(off + 345, 155) : '';
    const name = prefix ? `${prefix}/${str(off, 100)}` : str(off, 100);
    const mode = parseInt(str(off + 100, 8).trim() || '644', 8);
    const size = parseInt(str(off + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(buf[off + 156]!) || '0';
    const dest = normalize(join(to, name));
    if (dest !== to && !dest.startsWith(to + sep)) throw new Error(`tar entry ${name} is outside the target directory`);
    const data = off + 512;
    if (type === '5') mkdirSync(dest, { recursive: true });
    else if (type === '0' || type === '\0') {
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, buf.subarray(data, data + size), { mode: mode & 0o777 });
    } else if (type !== 'x' && type !== 'g') throw new Error(`tar entry ${name}: type ${type} not handled`);
    off = data + Math.ceil(size / 512) * 512;
  }
}
