/**
 * Reading a scenario file (YAML or JSON), loading its plugins and validating it. Every
 * problem becomes one ScenarioError naming the file, the field and what was expected.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { MAX_FILE_SIZE, PAGE_SHIFT, type Scenario, TASK_SIZE, UNPRINTABLE, arrayOf, nameSchema, scenarioBaseSchema, scenarioSchema } from './schema.ts';
import { getVariant } from '../registry.ts';
import { type Sysfs, checkSysfs, defaultSysfs } from '../memory/sysfs.ts';
import '../builtins.ts';
import { importPlugin } from './plugin_import.ts';

const MAX_FILE_PAGES = MAX_FILE_SIZE >> PAGE_SHIFT;
/**
 * All files together: every file's page cache is laid out slot by slot as the run starts,
 * a populated one's pages too (2,000 empty 1 GiB files took 2.4 GB and 19 s to set up a
 * run, 5 GB for a search; 16 populated 1 GiB files, 0.6 GB and 6 s) — so a scenario's files
 * stay within what a machine holds, whatever their number.
 */
const MAX_FILES_PAGES = 16 * MAX_FILE_PAGES;
/** The slots of the pmds one mm's VMAs span (each a pmd_t: PMD_SLOTS fields and three arrays of HPAGE_PMD_NR), at most. */
const MAX_PMD_LAYOUT = 1 << 25;
const PMD_SLOTS = 6;

/** Longest message shown: input echoed in one is cut there. */
const MAX_MESSAGE = 1000;

/**
 * Text from the user's input as a message may show it: control and format characters
 * (a binary file's bytes, terminal escapes, U+FFFD for bytes not UTF-8) escaped, and cut
 * at `max` characters — a message is one line, never raw input bytes.
 */
export function printable(s: string, max = MAX_MESSAGE): string {
  const escaped = s.replace(new RegExp(UNPRINTABLE.source, 'gu'), (c) => {
    const n = c.codePointAt(0)!;
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped;
}

export class ScenarioError extends Error {
  constructor(readonly file: string, readonly field: string, readonly expected: string) {
    super(printable(`${file}: ${field ? `${field}: ` : ''}${expected}`));
  }

  /** The same error about data nested in a file (a replay's scenario): its fields under `prefix`. */
  within(prefix: string): ScenarioError {
    const field = !this.field ? prefix : this.field.startsWith('[') ? `${prefix}${this.field}` : `${prefix}.${this.field}`;
    return new ScenarioError(this.file, field, this.expected);
  }
}

/** A field's path as messages name it: `actors[0].ops[2].read`; a key that is no identifier quoted, `mms[0]["a b"]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => {
    if (typeof p === 'number') return `[${p}]`;
    const k = String(p);
    return /^[\w-]+$/.test(k) ? `${i ? '.' : ''}${k}` : `[${JSON.stringify(k)}]`;
  }).join('');
}

export interface ValidateOptions {
  /**
   * Whether the scenario's plugins may be imported (code runs). A scenario file the user
   * runs may name them; a replay file's scenario (made to be shared) only with
   * --allow-plugins (docs/replay.md).
   */
  plugins?: { allowed: true } | { allowed: false; how: string };
  /** The directory plugins are resolved from (default: the file's), and why, for a message. */
  base?: { dir: string; why: string };
  /** The scenario is the field `within` of the file (a replay's `scenario`): errors name it so. */
  within?: string;
}

/** Data that is some other thpsim file, not a scenario: what it is and what reads it. */
function otherThpsimFile(data: object, file: string): string | undefined {
  if ('thpsim_replay' in data) return `this is a replay file, not a scenario: replay it with thpsim run --replay ${file}`;
  if ('thpsim_result' in data) return 'this is a thpsim run --json result, not a scenario';
  if ('traceHashes' in data && 'strategy' in data) return 'this is a thpsim explore --json result, not a scenario: thpsim merge reads those';
  return undefined;
}

const pluginsSchema = arrayOf(z.string().min(1, 'expected a module path'), { error: 'expected a list of module paths' }).optional();

/**
 * The scenario's plugins imported, each checked first: a list of paths to files that exist
 * (resolved from `base`). Nothing is imported unless they are allowed.
 */
async function loadPlugins(data: object, file: string, opts: ValidateOptions): Promise<void> {
  const base = opts.base ?? { dir: dirname(file), why: `the directory of ${file}` };
  const r = pluginsSchema.safeParse((data as { plugins?: unknown }).plugins);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ScenarioError(file, fieldPath(['plugins', ...issue.path]), issue.message);
  }
  const plugins = r.data ?? [];
  if (plugins.length && opts.plugins && !opts.plugins.allowed) {
    throw new ScenarioError(file, 'plugins', `names code to import (${plugins.join(', ')}): ${opts.plugins.how}`);
  }
  await importPlugins(plugins.map((p) => resolve(base.dir, p)), plugins, file, (i) => `plugins[${i}]`, ` from ${base.why}`);
}

/**
 * Plugin modules imported, each checked first to be a file: an error names `field(i)` of
 * `file` (a scenario's plugins[i], a command's --plugin) and says which file, never a stack.
 */
async function importPlugins(paths: readonly string[], names: readonly string[], file: string, field: (i: number) => string, from = ''): Promise<void> {
  for (const [i, path] of paths.entries()) {
    const s = await stat(path).catch(() => null);
    if (!s?.isFile()) throw new ScenarioError(file, field(i), `no such file: ${path}${path === names[i] && !from ? '' : ` (${names[i]}${from})`}`);
  }
  for (const [i, path] of paths.entries()) {
    try {
      await importPlugin(path);
    } catch (e) {
      throw new ScenarioError(file, field(i), `could not load ${names[i]}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}

/**
 * Extensions named on the command line (`--plugin FILE`, repeatable: thpsim export chart,
 * thpsim inspect), imported as a scenario's plugins are: what they register is there to
 * draw and to run. Paths are resolved from the working directory.
 */
export async function loadPluginFiles(files: readonly string[], command: string): Promise<void> {
  await importPlugins(files.map((f) => resolve(f)), files, command, () => '--plugin');
}

/** A schema's result, or its first issue as the error naming the field. */
function parsed<T>(r: z.ZodSafeParseResult<T>, file: string): T {
  if (r.success) return r.data;
  throw schemaError(r.error.issues[0]!, file);
}

/** A schema's issue as the error naming the field; an unknown key is named itself. */
export function schemaError(issue: z.core.$ZodIssue, file: string): ScenarioError {
  if (issue.code === 'unrecognized_keys') {
    return new ScenarioError(file, fieldPath([...issue.path, issue.keys[0]!]), `unknown field${issue.keys.length > 1 ? ` (and ${issue.keys.length - 1} more)` : ''}`);
  }
  return new ScenarioError(file, fieldPath(issue.path), issue.message);
}

/**
 * Each validated scenario's data as given and where it came from: a replay file holds the
 * data, not the validated form (whose addresses are page numbers).
 */
export const scenarioSource = new WeakMap<Scenario, { raw: unknown; file: string }>();

/** Validates parsed scenario data; `file` names it in errors. */
export async function validateScenario(data: unknown, file: string, opts: ValidateOptions = {}): Promise<Scenario> {
  try {
    const s = await validate(data, file, opts);
    scenarioSource.set(s, { raw: data, file });
    return s;
  } catch (e) {
    throw e instanceof ScenarioError && opts.within ? e.within(opts.within) : e;
  }
}

async function validate(data: unknown, file: string, opts: ValidateOptions): Promise<Scenario> {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ScenarioError(file, '', 'expected a mapping with name, mms and actors');
  }
  const other = otherThpsimFile(data, file);
  if (other && !opts.within) throw new ScenarioError(file, '', other);
  // all but the actors (whose kinds a plugin may add) checked before any plugin is imported
  parsed(scenarioBaseSchema.safeParse(data), file);
  await loadPlugins(data, file, opts);
  const s = parsed(scenarioSchema().safeParse(data), file) as unknown as Scenario;
  s.variants.forEach((v, i) => {
    if (!getVariant(v)) throw new ScenarioError(file, `variants[${i}]`, `unknown variant '${v}'`);
  });
  checkReferences(s, file);
  const sysfs = { ...defaultSysfs(s.hpage_pmd_nr), ...s.sysfs, khugepaged: { ...defaultSysfs(s.hpage_pmd_nr).khugepaged, ...s.sysfs.khugepaged } } as Sysfs;
  const bad = checkSysfs(sysfs, s.hpage_pmd_nr);
  if (bad) {
    const [field, ...rest] = bad.split(': ');
    throw new ScenarioError(file, `sysfs.${field!.replace('/', '.')}`, rest.join(': '));
  }
  return s;
}

/** Cross-field checks a schema cannot express: names that must refer to something. */
function checkReferences(s: Scenario, file: string): void {
  const ids = new Set<string>();
  const mms = new Set(s.mms.map((m) => m.name));
  const files = new Set(s.files.map((f) => f.name));
  // regular (non-shmem) files are modelled as READ_ONLY_THP_FOR_FS text: read-only, never written
  const regular = new Set(s.files.filter((f) => !f.shmem).map((f) => f.name));
  const dup = (names: string[], field: (i: number) => string, what: string) => {
    const seen = new Set<string>();
    names.forEach((n, i) => {
      if (seen.has(n)) throw new ScenarioError(file, field(i), `duplicate ${what} name '${n}'`);
      seen.add(n);
    });
  };
  dup(s.files.map((f) => f.name), (i) => `files[${i}].name`, 'file');
  dup(s.mms.map((m) => m.name), (i) => `mms[${i}].name`, 'mm');
  let filePages = 0;
  s.files.forEach((f, i) => {
    filePages += f.size;
    if (filePages > MAX_FILES_PAGES) {
      throw new ScenarioError(file, `files[${i}].size`, `expected the files to total at most 0x${(MAX_FILES_PAGES * 4096).toString(16)} bytes (16 GiB): each is modelled page by page (the files up to this one total 0x${(filePages * 4096).toString(16)})`);
    }
    if (f.shmem && !f.cached) throw new ScenarioError(file, `files[${i}].cached`, 'a shmem file has no backing store: its populated pages are always cached');
    if (f.huge && !f.shmem) throw new ScenarioError(file, `files[${i}].huge`, 'huge=1 is a tmpfs mount option: only a shmem file can be huge');
    for (const field of ['swapped', 'holes'] as const) {
      f[field].forEach((r, j) => {
        if (!f.shmem || !f.populated) throw new ScenarioError(file, `files[${i}].${field}`, `only a populated shmem file has ${field} ranges`);
        if (r.size === 0 || r.offset + r.size > f.size) {
          throw new ScenarioError(file, `files[${i}].${field}[${j}]`, `expected a non-empty range within the file's ${f.size * 4096} bytes`);
        }
      });
    }
    f.dirty.forEach((r, j) => {
      // shmem does no dirty accounting: its pages are written out by reclaim (shmem_writepage), never the flusher
      if (f.shmem || !f.populated || !f.cached) throw new ScenarioError(file, `files[${i}].dirty`, 'only a populated, cached regular file has dirty ranges');
      if (r.size === 0 || r.offset + r.size > f.size) {
        throw new ScenarioError(file, `files[${i}].dirty[${j}]`, `expected a non-empty range within the file's ${f.size * 4096} bytes`);
      }
    });
  });
  s.mms.forEach((m, i) =>
    m.vmas.forEach((v, j) => {
      if (v.file !== undefined && !files.has(v.file)) {
        throw new ScenarioError(file, `mms[${i}].vmas[${j}].file`, `no file named '${v.file}' in files`);
      }
      if (v.file !== undefined && regular.has(v.file) && v.flags.includes('VM_WRITE')) {
        throw new ScenarioError(file, `mms[${i}].vmas[${j}].flags`, `'${v.file}' is a regular file: only read-only mappings (READ_ONLY_THP_FOR_FS) are modelled, without VM_WRITE`);
      }
      if (v.size === 0) throw new ScenarioError(file, `mms[${i}].vmas[${j}].size`, 'expected a non-zero size');
      if (v.file !== undefined && v.pgoff + v.size > MAX_FILE_PAGES) {
        throw new ScenarioError(file, `mms[${i}].vmas[${j}].pgoff`, `expected the mapping to end within 0x${MAX_FILE_SIZE.toString(16)} bytes of the file (1 GiB, the largest file modelled)`);
      }
      if ((v.start + v.size) * 4096 > TASK_SIZE) {
        throw new ScenarioError(file, `mms[${i}].vmas[${j}].size`, `the VMA ends beyond the user address space (TASK_SIZE 0x${TASK_SIZE.toString(16)})`);
      }
    }),
  );
  s.mms.forEach((m, i) => {
    // every pmd an mm's VMAs span is laid out as the run starts, with its HPAGE_PMD_NR ptes
    // (src/world/build.ts): a VMA over the whole address space at HPAGE_PMD_NR 2 spanned 2^34
    // of them and crashed V8; 1 TiB at 512 took 12 GB for a search
    const n = s.hpage_pmd_nr;
    let pmds = 0;
    m.vmas.forEach((v, j) => {
      pmds += Math.floor((v.start + v.size - 1) / n) - Math.floor(v.start / n) + 1;
      if (pmds * (PMD_SLOTS + 3 * n) > MAX_PMD_LAYOUT) {
        const most = Math.floor(MAX_PMD_LAYOUT / (PMD_SLOTS + 3 * n));
        throw new ScenarioError(file, `mms[${i}].vmas[${j}].size`, `the mm's VMAs up to this one span ${pmds.toLocaleString('en-US')} pmds: expected at most ${most.toLocaleString('en-US')} at HPAGE_PMD_NR ${n} (0x${(most * n * 4096).toString(16)} bytes), each laid out with its ptes as the run starts`);
      }
    });
  });
  s.mms.forEach((m, i) => {
    // two VMAs overlap where one starts below the furthest end of those starting before it
    // (in address order: n log n, for an mm of 100,000 VMAs as well)
    const order = m.vmas.map((_, j) => j).sort((a, b) => m.vmas[a]!.start - m.vmas[b]!.start || a - b);
    let furthest = -1;
    for (const j of order) {
      const v = m.vmas[j]!;
      if (furthest >= 0 && v.start < m.vmas[furthest]!.start + m.vmas[furthest]!.size) {
        const [later, earlier] = j > furthest ? [j, furthest] : [furthest, j];
        throw new ScenarioError(file, `mms[${i}].vmas[${later}]`, `overlaps mms[${i}].vmas[${earlier}]: the VMAs of one mm are disjoint`);
      }
      if (furthest < 0 || v.start + v.size > m.vmas[furthest]!.start + m.vmas[furthest]!.size) furthest = j;
    }
  });
  s.actors.forEach((a, i) => {
    // (each kind's schema has its id; names are checked here, once)
    const bad = nameSchema.safeParse(a.id);
    if (!bad.success) throw new ScenarioError(file, `actors[${i}].id`, bad.error.issues[0]!.message);
    if (ids.has(a.id)) throw new ScenarioError(file, `actors[${i}].id`, `duplicate actor id '${a.id}'`);
    ids.add(a.id);
    const ops = (a as { ops?: Record<string, unknown>[] }).ops ?? [];
    ops.forEach((op, j) => {
      if (typeof op !== 'object') return;
      if (typeof op.fork === 'string') {
        const named = nameSchema.safeParse(op.fork);
        if (!named.success) throw new ScenarioError(file, `actors[${i}].ops[${j}].fork`, named.error.issues[0]!.message);
        // copy_process makes a new mm: its name must be new (neither in mms nor forked before)
        if (mms.has(op.fork)) throw new ScenarioError(file, `actors[${i}].ops[${j}].fork`, `an mm named '${op.fork}' already exists (in mms or made by an earlier fork)`);
        mms.add(op.fork);
      }
      const t = op.truncate as { file?: string; size?: number } | undefined;
      const tf = s.files.find((x) => x.name === t?.file);
      if (t && tf && t.size! > tf.size) {
        throw new ScenarioError(file, `actors[${i}].ops[${j}].truncate.size`, `only shrinking is modelled: the file is ${tf.size * 4096} bytes`);
      }
      for (const [name, arg] of Object.entries(op)) {
        const f = (arg as { file?: string } | null)?.file;
        // (a write beyond i_size grows the file: at most to the largest file the model keeps)
        const { offset, size } = (arg ?? {}) as { offset?: number; size?: number };
        if (f !== undefined && offset !== undefined && offset + Math.max(size ?? 0, 1) > MAX_FILE_PAGES) {
          throw new ScenarioError(file, `actors[${i}].ops[${j}].${name}.offset`, `expected a range within 0x${MAX_FILE_SIZE.toString(16)} bytes (1 GiB, the largest file modelled)`);
        }
        if (f !== undefined && !files.has(f)) {
          throw new ScenarioError(file, `actors[${i}].ops[${j}].${name}.file`, `no file named '${f}' in files`);
        }
        if (f !== undefined && regular.has(f) && name !== 'pread') {
          throw new ScenarioError(file, `actors[${i}].ops[${j}].${name}.file`, `'${f}' is a regular file: only read(2) is modelled for it`);
        }
      }
    });
    const targets = (a as { targets?: { file: string }[] }).targets ?? [];
    targets.forEach((t, j) => {
      if (!files.has(t.file)) throw new ScenarioError(file, `actors[${i}].targets[${j}].file`, `no file named '${t.file}' in files`);
      const tf = s.files.find((x) => x.name === t.file)!;
      if ((t as unknown as { offset: number }).offset >= tf.size) throw new ScenarioError(file, `actors[${i}].targets[${j}].offset`, `expected an offset within the file's ${tf.size * 4096} bytes`);
      // (another kind's targets may be a regular file's pages: an extension's writeback flusher)
      if (a.kind === 'shmem_reclaim' && regular.has(t.file)) throw new ScenarioError(file, `actors[${i}].targets[${j}].file`, `'${t.file}' is a regular file: shmem_reclaim swaps shmem pages only`);
    });
  });
  // a wait for an actor names another actor of the scenario
  s.actors.forEach((a, i) => {
    ((a as { ops?: unknown[] }).ops ?? []).forEach((op, j) => {
      const w = (op as { wait?: { actor?: string } } | null)?.wait?.actor;
      if (w === undefined) return;
      if (!ids.has(w)) throw new ScenarioError(file, `actors[${i}].ops[${j}].wait.actor`, `no actor with id '${w}'`);
      if (w === a.id) throw new ScenarioError(file, `actors[${i}].ops[${j}].wait.actor`, 'an actor cannot wait for itself to finish');
    });
  });
  // MADV_COLLAPSE of anonymous memory is collapse_huge_page, which is not modelled: refused, not answered wrongly
  s.actors.forEach((a, i) => {
    const t = a as { mm?: string; ops?: unknown[] };
    const mm = s.mms.find((m) => m.name === t.mm);
    if (!mm) return;
    (t.ops ?? []).forEach((op, j) => {
      const o = op as { madvise_collapse?: { start: number; size: number }; madvise?: { start: number; size: number; advice: string } } | null;
      const mc = o?.madvise_collapse ?? (o?.madvise?.advice === 'MADV_COLLAPSE' ? o.madvise : undefined);
      if (!mc) return;
      const anon = mm.vmas.find((v) => v.file === undefined && v.start < mc.start + mc.size && mc.start < v.start + v.size);
      if (anon) {
        throw new ScenarioError(file, `actors[${i}].ops[${j}].${o?.madvise_collapse ? 'madvise_collapse' : 'madvise'}`,
          'MADV_COLLAPSE of anonymous memory (collapse_huge_page) is not modelled: only shmem and file mappings can be collapsed');
      }
    });
  });
  s.actors.forEach((a, i) => {
    if (a.kind !== 'shmem_recovery') return;
    const r = a as unknown as { file: string; offset: number };
    const f = s.files.find((x) => x.name === r.file);
    if (!f) throw new ScenarioError(file, `actors[${i}].file`, `no file named '${r.file}' in files`);
    if (!f.huge) throw new ScenarioError(file, `actors[${i}].file`, `'${r.file}' is not mounted huge (huge: true): recovery is queued only for huge tmpfs`);
    if (r.offset >= f.size) throw new ScenarioError(file, `actors[${i}].offset`, `expected an offset within the file's ${f.size * 4096} bytes`);
  });
  s.actors.forEach((a, i) => {
    const mm = (a as { mm?: string }).mm;
    if (mm !== undefined && !mms.has(mm)) {
      throw new ScenarioError(file, `actors[${i}].mm`, `no mm named '${mm}' in mms (or created by a fork)`);
    }
  });
}

/** Reads, parses and validates a scenario file. */
export async function loadScenario(path: string): Promise<Scenario> {
  return validateScenario(await readScenarioData(path), path);
}

/** Reads and parses a scenario file (YAML or JSON) without validating it. */
export async function readScenarioData(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ScenarioError(path, '', code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    // (the parser's warnings would go to stderr quoting the input: an error or nothing)
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { logLevel: 'error' });
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos ? ` (line ${e.linePos[0].line})` : '';
    throw new ScenarioError(path, '', `not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}${where}: ${(e as Error).message.split('\n')[0]}`);
  }
  return data;
}

