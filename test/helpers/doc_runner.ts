/**
 * Runs a guide (docs/testing.md, docs/extending.md) as written: its fenced blocks in order.
 *
 * - ```sh — commands, run by bash (set -e) from where the guide's last `cd` left off; the
 *   block must exit 0, or the status its info string names (```sh exit=1);
 * - ```sh serve — a command that serves until stopped (thpsim inspect): run in the
 *   background until it prints a URL, which must answer, then stopped;
 * - ```ts file=PATH, ```yaml file=PATH — written to PATH (from the current directory);
 *   `append` adds to what the guide wrote there before;
 * - ```text right after a command — its output as the guide shows it: every line must be
 *   in the output, in order, where `…` stands for anything (a line of only `…`, for lines).
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { servedUrl } from './served.ts';

export interface Block {
  lang: string;
  info: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    out.push({ lang: open[1]!, info: open[2]!.trim(), body: body.length ? `${body.join('\n')}\n` : '', line: start + 1 });
  }
  return out;
}

/** Whether `shown` (a guide's output, `…` for anything) is in `actual`, line by line in order. */
export function outputMatches(shown: string, actual: string): string | undefined {
  const have = actual.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  let at = 0;
  for (const want of shown.split('\n').filter((l) => l.trim() !== '')) {
    if (want.trim() === '…') continue;
    const re = new RegExp(`^${want.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    const found = have.findIndex((l, i) => i >= at && re.test(l));
    if (found < 0) return want;
    at = found + 1;
  }
  return undefined;
}

export interface GuideResult {
  /** The directory the guide's last `cd` left. */
  cwd: string;
}

const ENV = {
  ...process.env,
  // (the packages come from npm's cache where it has them, as a second install would)
  npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false',
  NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true',
};

/** Runs `file`'s blocks from `cwd`; throws naming the block (file:line) that did not do what the guide says. */
export async function runGuide(file: string, cwd: string): Promise<GuideResult> {
  const bs = blocks(readFileSync(file, 'utf8'));
  const scratch = mkdtempSync(join(tmpdir(), 'thpsim-guide-'));
  let last: { out: string; where: string } | undefined;
  for (const b of bs) {
    const where = `${file}:${b.line}`;
    const target = /(?:^|\s)file=(\S+)/.exec(b.info)?.[1];
    if (target) {
      const path = resolve(cwd, target);
      mkdirSync(dirname(path), { recursive: true });
      (/(^|\s)append(\s|$)/.test(b.info) ? appendFileSync : writeFileSync)(path, b.body);
      last = undefined;
    } else if (b.lang === 'sh' && /(^|\s)serve(\s|$)/.test(b.info)) {
      await serve(b.body, cwd, where);
      last = undefined;
    } else if (b.lang === 'sh') {
      const expected = Number(/exit=(\d+)/.exec(b.info)?.[1] ?? 0);
      const script = join(scratch, 'block.sh');
      const pwd = join(scratch, 'pwd');
      writeFileSync(script, b.body);
      const r = spawnSync('bash', ['-c', 'cd "$1" && trap \'pwd > "$2"\' EXIT && set -e && source "$3"', 'guide', cwd, pwd, script], {
        encoding: 'utf8', env: ENV, timeout: 600_000,
      });
      const out = `${r.stdout}${r.stderr}`;
      if (r.status !== expected) throw new Error(`${where}: exit ${r.status} (the guide says ${expected}):\n${b.body}\n${out.slice(-3000)}`);
      cwd = readFileSync(pwd, 'utf8').trim();
      last = { out, where };
    } else if (b.lang === 'text' && last) {
      const missing = outputMatches(b.body, last.out);
      if (missing !== undefined) throw new Error(`${where}: the output the guide shows is not what ${last.where} printed: no line like\n  ${missing}\nin\n${last.out.slice(-3000)}`);
      last = undefined;
    } else last = undefined;
  }
  return { cwd };
}

/** A command that serves a page: up until it prints its URL, the page answers, then stopped. */
async function serve(cmd: string, cwd: string, where: string): Promise<void> {
  const child = spawn('bash', ['-c', `exec ${cmd.trim()}`], { cwd, env: ENV, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const { url } = await servedUrl(child).catch((e: Error) => {
      throw new Error(`${where}: ${e.message}`);
    });
    const page = await fetch(url);
    if (page.status !== 200 || !(await page.text()).includes('app.js')) throw new Error(`${where}: ${url} answered ${page.status}`);
    const api = await fetch(new URL('api/run', url));
    if (api.status !== 200) throw new Error(`${where}: ${url}api/run answered ${api.status}`);
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // gone already
    }
  }
}
