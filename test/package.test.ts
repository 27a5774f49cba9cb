// thpsim as a package (issue 19, item 1): `npm pack` of a copy of the checkout (its
// prepare script compiles dist/), installed from the tarball into a scratch project outside
// the repository, where a vitest file that imports only the public entry points — thpsim,
// thpsim/vitest, thpsim/extend — runs, its TypeScript type-checks against the shipped
// declarations, and the installed command starts from compiled JavaScript. The install
// takes the packages from npm's cache (npm ci filled it), the registry only for what is missing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGuide } from './helpers/doc_runner.ts';

const REPO = realpathSync(fileURLToPath(new URL('..', import.meta.url)));
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string; files: string[]; dependencies: Record<string, string>; devDependencies: Record<string, string>;
};

function sh(cmd: string, args: string[], cwd: string, timeout = 300_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

const USER_TEST = `
import { describe, expect, it } from 'vitest';
import { explore, loadScenario, run, validateScenario, ScenarioError, type RunResult } from 'thpsim';
import { registerMonitor, type MonitorKind } from 'thpsim/extend';
import 'thpsim/vitest';

// a monitor of the user's own, registered from outside the package
const noHugePmd: MonitorKind = {
  name: 'user-no-huge-pmd',
  description: 'no anonymous huge pmd is ever installed',
  create({ k, report }) {
    k.bus.on('pmd').subscribe((e) => { if (e.op === 'SET_PMD_HUGE') report('a huge pmd at ' + e.pmd); });
    return {};
  },
};
registerMonitor(noHugePmd);

const scenario = {
  name: 'two-faults', hpage_pmd_nr: 4,
  mms: [{ name: 'mm1', vmas: [{ start: 0, size: '0x8000' }] }],
  actors: [{ kind: 'task', id: 'T1', mm: 'mm1', ops: [{ read: 0 }, { write: '0x4000' }] }],
};

describe('thpsim from its package', () => {
  it('runs a scenario and reports in the kernel\\'s terms', async () => {
    const s = await validateScenario(scenario, 'two-faults');
    const r: RunResult = run(s, { seed: 3, monitors: [] });
    expect(r).toHaveNoViolation();
    expect(r).toBePmdMapped('mm1', '0x4000');
    expect(r.page_tables.mm1!.map((p) => p.kind)).toContain('huge');
    expect(r.vmstat.thp_fault_alloc).toBe(1);
  });
  it('a user monitor sees the bus', async () => {
    const r = run(await validateScenario(scenario, 'two-faults'), { seed: 3 });
    expect(r.verdict).toBe('violation');
    expect(r.violations[0]!.invariant).toBe('user-no-huge-pmd');
  });
  it('loads a shipped example and explores it', async () => {
    const s = await loadScenario('node_modules/thpsim/examples/zero-page-as-posted.yaml');
    const e = await explore(s, { strategy: 'random', schedules: 50 });
    expect(e.schedules).toBe(50);
  });
  it('a mistake is one line naming the field', async () => {
    await expect(validateScenario({ ...scenario, hpage_pmd_nr: 3 }, 'mine.yaml')).rejects.toThrow(ScenarioError);
    await expect(validateScenario({ ...scenario, hpage_pmd_nr: 3 }, 'mine.yaml')).rejects.toThrow('mine.yaml: hpage_pmd_nr: expected a power of two between 2 and 512');
  });
});
`;

/** The scratch directory: `thpsim/` (a copy of the checkout), the guides' project beside it, and `user/`. */
let scratch: string;

beforeAll(() => {
  scratch = realpathSync(mkdtempSync(join(tmpdir(), 'thpsim-package-')));
  expect(scratch.startsWith(REPO)).toBe(false);
  // a copy of the checkout as a clone has it, with npm ci's node_modules: npm pack there
  // builds dist/ there, not under the tests that run this checkout's command meanwhile
  const copy = join(scratch, 'thpsim');
  mkdirSync(copy);
  for (const f of [...pkg.files, 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'machines']) {
    const from = join(REPO, f.replace(/\/$/, ''));
    if (existsSync(from) && !f.startsWith('dist')) cpSync(from, join(copy, f.replace(/\/$/, '')), { recursive: true });
  }
  symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
}, 120_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// The guides, followed literally: docs/testing.md from the checkout (npm pack, a project
// beside it, a race found, a vitest file, the fix), then docs/extending.md in that project.
describe('the guides, run as written', () => {
  let project: string;
  it('docs/testing.md', async () => {
    project = (await runGuide(join(REPO, 'docs', 'testing.md'), join(scratch, 'thpsim'))).cwd;
    expect(project).toBe(join(scratch, 'my-thp-tests'));
  }, 900_000);
  it('docs/extending.md: its writeback/index.ts is examples/extensions/writeback/index.ts', async () => {
    expect(project, 'docs/testing.md ran first').toBeDefined();
    await runGuide(join(REPO, 'docs', 'extending.md'), project);
    expect(readFileSync(join(project, 'writeback', 'index.ts'), 'utf8')).toBe(readFileSync(join(REPO, 'examples', 'extensions', 'writeback', 'index.ts'), 'utf8'));
  }, 900_000);
});

describe('thpsim installed from its packed tarball', () => {
  let tarball: string;

  beforeAll(() => {
    tarball = join(scratch, 'thpsim', `thpsim-${pkg.version}.tgz`);
    if (!existsSync(tarball)) {
      // (the guide packed it; packed here only if it did not get that far)
      const pack = sh('npm', ['pack', '--silent'], join(scratch, 'thpsim'));
      expect(pack.code, pack.err).toBe(0);
    }
    expect(existsSync(tarball)).toBe(true);

    const user = join(scratch, 'user');
    mkdirSync(user);
    writeFileSync(join(user, 'package.json'), JSON.stringify({ name: 'my-thp-tests', private: true, type: 'module' }));
    writeFileSync(join(user, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
      include: ['*.test.ts'],
    }));
    const dev = pkg.devDependencies;
    const install = sh('npm', ['install', '--prefer-offline', '--no-save', tarball, `vitest@${dev.vitest}`, `typescript@${dev.typescript}`, `@types/node@${dev['@types/node']}`], user, 600_000);
    expect(install.code, install.err).toBe(0);
    writeFileSync(join(user, 'thp.test.ts'), USER_TEST);
  }, 900_000);

  it('ships compiled JavaScript and declarations, not TypeScript sources', () => {
    const list = sh('tar', ['-tzf', tarball], scratch);
    const files = list.out.split('\n').filter(Boolean);
    expect(files).toContain('package/dist/src/index.js');
    expect(files).toContain('package/dist/src/index.d.ts');
    expect(files).toContain('package/dist/src/extend.d.ts');
    expect(files).toContain('package/bin/thpsim.js');
    expect(files.filter((f) => /^package\/(src|machines|test)\//.test(f))).toEqual([]);
  });

  it('a vitest file importing only thpsim, thpsim/vitest and thpsim/extend runs in the user\'s project', () => {
    const user = join(scratch, 'user');
    const r = sh(join(user, 'node_modules', '.bin', 'vitest'), ['run', '--reporter=verbose'], user);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/4 passed/);
  });

  it('the user\'s TypeScript type-checks against the shipped declarations', () => {
    const user = join(scratch, 'user');
    const r = sh(join(user, 'node_modules', '.bin', 'tsc'), ['-p', '.'], user);
    expect(r.code, r.out + r.err).toBe(0);
    // and a mistake the declarations catch
    writeFileSync(join(user, 'wrong.test.ts'), "import { run } from 'thpsim';\ndeclare const s: Parameters<typeof run>[0];\nrun(s, { strategy: 'dfs' });\n");
    const bad = sh(join(user, 'node_modules', '.bin', 'tsc'), ['-p', '.'], user);
    rmSync(join(user, 'wrong.test.ts'));
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/wrong\.test\.ts.*'"dfs"' is not assignable/);
  });

  it('the installed command runs from compiled JavaScript', () => {
    const user = join(scratch, 'user');
    const bin = join(user, 'node_modules', '.bin', 'thpsim');
    const v = sh(bin, ['--version'], user);
    expect(v.out).toBe(`thpsim ${pkg.version}\n`);
    const r = sh(bin, ['run', 'node_modules/thpsim/examples/zero-page-read-faults.yaml'], user);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/verdict: OK/);
    // no TypeScript in the package: nothing to compile at start
    expect(readdirSync(join(user, 'node_modules', 'thpsim'))).not.toContain('src');
  });
});
