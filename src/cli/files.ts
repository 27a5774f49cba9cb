/**
 * Where thpsim writes its files (--out, --save-replay, -o). Each place is checked before the
 * run starts (what the check made is removed again), so a long exploration never ends
 * unable to keep what it found, and every failure is one line naming the path and the
 * option. Directories are made one level at a time: Node 20's mkdir({ recursive: true })
 * never settles on a path under /proc.
 */
import { constants } from 'node:fs';
import { access, mkdir, open, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ScenarioError } from '../scenario/load.ts';

const reason = (e: unknown) => (e as Error).message;

/** `dir` and every missing directory above it, made; a file in the way is an error. Returns the ones made, outermost first. */
async function makeDirectory(dir: string, flag: string): Promise<string[]> {
  const missing: string[] = [];
  for (let p = resolve(dir); ; p = dirname(p)) {
    const s = await stat(p).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return null;
      throw new ScenarioError(dir, flag, `cannot use ${p}: ${reason(e)}`);
    });
    if (s) {
      if (!s.isDirectory()) throw new ScenarioError(dir, flag, `${p} is a file: expected a directory there`);
      break;
    }
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  const made: string[] = [];
  for (const p of missing) {
    await mkdir(p).then(() => made.push(p), (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw new ScenarioError(dir, flag, `cannot create the directory ${p}: ${reason(e)}`);
    });
  }
  return made;
}

/** What a check made, taken away again: a run that writes nothing leaves nothing behind. */
async function removeDirectories(made: string[]): Promise<void> {
  for (const p of made.reverse()) await rmdir(p).catch(() => {});
}

/** Before a run: `dir` can be made (if need be) and a file written in it. */
export async function prepareDirectory(dir: string, flag: string): Promise<void> {
  const made = await makeDirectory(dir, flag);
  const probe = join(dir, `.thpsim-write-test-${process.pid}`);
  try {
    await writeFile(probe, '');
    await unlink(probe).catch(() => {});
  } catch (e) {
    throw new ScenarioError(dir, flag, `cannot write in this directory: ${reason(e)}`);
  } finally {
    await removeDirectories(made);
  }
}

/** Before a run: `file` can be written — not a directory, its directory can be made, writable. */
export async function prepareFile(file: string, flag: string): Promise<void> {
  const s = await stat(file).catch(() => null);
  if (s?.isDirectory()) throw new ScenarioError(file, flag, 'is a directory: expected a file name');
  if (s) {
    // (an existing file: writable as it is, not truncated before the run has something to write)
    await access(file, constants.W_OK).catch((e) => {
      throw new ScenarioError(file, flag, `cannot write: ${reason(e)}`);
    });
    return;
  }
  const made = await makeDirectory(dirname(file), flag);
  try {
    await (await open(file, 'wx')).close();
    await unlink(file).catch(() => {});
  } catch (e) {
    throw new ScenarioError(file, flag, `cannot write: ${reason(e)}`);
  } finally {
    await removeDirectories(made);
  }
}

/** Writes `text` to `file`, its directory made if need be; a failure is one line naming the file and the option. */
export async function writeOutput(file: string, text: string, flag: string): Promise<void> {
  await makeDirectory(dirname(file), flag);
  try {
    await writeFile(file, text);
  } catch (e) {
    throw new ScenarioError(file, flag, `cannot write: ${reason(e)}`);
  }
}
