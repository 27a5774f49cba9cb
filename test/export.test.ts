// thpsim export: statecharts (Mermaid, SCXML, JSON), traces (Perfetto, ftrace), the
// generated chart docs — through the CLI as a user runs it, and the modules behind it.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartModel, exportChart, type ChartState } from '../src/export/chart.ts';
import { chartByName, namedCharts } from '../src/export/machines.ts';
import { CHARTS_MD, README_MD, chartsDoc, spliceReadme } from '../src/export/charts_doc.ts';
import type { TraceEvent } from '../src/export/perfetto.ts';
import { writeLongRun } from './helpers/long_run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'thpsim-export-'));

function thpsim(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/thpsim.js', ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function allStates(states: ChartState[]): ChartState[] {
  return states.flatMap((s) => [s, ...allStates(s.states)]);
}

/**
 * A small XML well-formedness check: one root, every tag closed in order, attributes
 * quoted and unique, `&` only in entities. Returns the elements with their attributes.
 */
function parseXml(text: string): { name: string; attrs: Record<string, string>; parent: string | null }[] {
  const body = text.replace(/^<\?xml[^?]*\?>\s*/, '');
  const out: { name: string; attrs: Record<string, string>; parent: string | null }[] = [];
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const text = body.slice(i, lt < 0 ? body.length : lt);
    if (text.trim() !== '') throw new Error(`text outside elements at ${i}: ${text.slice(0, 40)}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(body);
    if (!m) throw new Error(`malformed tag at ${lt}: ${body.slice(lt, lt + 60)}`);
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`</${name}> does not close the open element`);
    } else {
      if (!stack.length) roots++;
      const attrs: Record<string, string> = {};
      for (const a of attrText!.matchAll(/([A-Za-z_][\w.:-]*)="([^"]*)"/g)) {
        if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]} on <${name}>`);
        if (/&(?!(amp|lt|gt|quot|apos);)/.test(a[2]!)) throw new Error(`bare & in ${a[1]} on <${name}>`);
        attrs[a[1]!] = a[2]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
      }
      out.push({ name: name!, attrs, parent: stack.at(-1) ?? null });
      if (!selfClose) stack.push(name!);
    }
    i = tag.lastIndex;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
  return out;
}

/** X slices on one track must nest: each lies inside the one still open, or after it. */
function checkNested(events: TraceEvent[]): number {
  const xs = events.filter((e) => e.ph === 'X').sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!);
  const open: TraceEvent[] = [];
  let maxDepth = 0;
  for (const e of xs) {
    while (open.length && open.at(-1)!.ts! + open.at(-1)!.dur! <= e.ts!) open.pop();
    const top = open.at(-1);
    if (top && e.ts! + e.dur! > top.ts! + top.dur!) {
      throw new Error(`${e.name} [${e.ts}, ${e.ts! + e.dur!}] overlaps ${top.name} [${top.ts}, ${top.ts! + top.dur!}] without nesting`);
    }
    open.push(e);
    maxDepth = Math.max(maxDepth, open.length);
  }
  return maxDepth;
}

describe('thpsim export chart', { timeout: 120_000 }, () => {
  it('Mermaid: stateDiagram-v2 with every state, nesting, parallel regions, initial/final, STEP + guard + injection labels', () => {
    for (const { name, source } of namedCharts()) {
      const text = exportChart(source, 'mermaid');
      expect(text.split('\n')[0]).toBe('stateDiagram-v2');
      for (const s of allStates(chartModel(source).states)) {
        expect(text, `${name}: ${s.path}`).toContain(` as s_${s.path.replace(/\./g, '__')}`);
      }
      expect(text.match(/\{/g)?.length ?? 0).toBe(text.match(/\}/g)?.length ?? 0);
      expect(text).toMatch(/^ *\[\*\] --> s_\w+$/m);
    }
    const page = exportChart(chartByName('page')!, 'mermaid');
    expect(page.match(/^ {4}--$/gm)).toHaveLength(6); // seven regions
    expect(page).toContain("s_lock__unlocked --> s_lock__locked : LOCK [In('alloc.allocated')]");
    const k = exportChart(chartByName('khugepaged')!, 'mermaid');
    expect(k).toMatch(/state "scan_shmem · khugepaged_scan_shmem\(\)" as s_scan_shmem \{/);
    expect(k).toMatch(/s_done --> \[\*\]/);
    expect(k).toMatch(/s_scan_shmem__collapse_shmem__alloc --> s_scan_shmem__collapse_shmem__returned : STEP \[injectedFailure\] ⚡alloc_huge_page/);
    expect(k).toMatch(/s_down_read --> s_find_vma : STEP \[mmapReadFree\]/);
    // the CLI writes the same bytes, run after run
    const a = thpsim('export', 'chart', 'khugepaged', '--format', 'mermaid');
    expect(a.code).toBe(0);
    expect(a.out).toBe(k);
    const file = join(tmp, 'k.mmd');
    expect(thpsim('export', 'chart', 'khugepaged', '--format', 'mermaid', '-o', file).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(k);
  });

  it('the huge tmpfs team head by name: three regions and the guards that keep a team consistent', () => {
    const r = thpsim('export', 'chart', 'team_head', '--format', 'mermaid');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toBe(exportChart(chartByName('team_head')!, 'mermaid'));
    expect(r.out.match(/^ {4}--$/gm)).toHaveLength(2); // team, hugehole, checked
    expect(r.out).toContain('s_team__prepared --> s_team__disbanded : DISBAND_TAILS\n');
    expect(r.out).toContain("s_team__complete --> s_team__disbanded : DISBAND [In('checked.unchecked')]");
    expect(r.out).toContain("s_hugehole__untagged --> s_hugehole__tagged : TAG_HUGEHOLE [In('team.filling') || In('team.complete')]");
    expect(r.out).toContain("s_checked__unchecked --> s_checked__checked : SET_CHECKED [In('team.complete')]");
  });

  it('SCXML: well-formed W3C SCXML; every transition target and initial exists; guards escaped', () => {
    for (const { name, source } of namedCharts()) {
      const text = exportChart(source, 'scxml');
      const els = parseXml(text);
      const root = els[0]!;
      expect(root.name).toBe('scxml');
      expect(root.attrs.xmlns).toBe('http://www.w3.org/2005/07/scxml');
      expect(root.attrs.version).toBe('1.0');
      const ids = new Set(els.filter((e) => ['state', 'parallel', 'final'].includes(e.name)).map((e) => e.attrs.id!));
      expect(ids.size, name).toBe(els.filter((e) => 'id' in e.attrs).length); // ids unique
      expect(ids.has(root.attrs.initial!), `${name}: initial ${root.attrs.initial}`).toBe(true);
      for (const e of els) {
        expect(['scxml', 'state', 'parallel', 'final', 'transition'], name).toContain(e.name);
        if (e.attrs.initial) expect(ids.has(e.attrs.initial), `${name}: initial ${e.attrs.initial}`).toBe(true);
        if (e.name === 'transition') {
          expect(e.parent === 'state' || e.parent === 'parallel', name).toBe(true);
          if (e.attrs.target) expect(ids.has(e.attrs.target), `${name}: target ${e.attrs.target}`).toBe(true);
          else expect(e.attrs.type).toBe('internal');
        }
      }
      expect(ids.size, name).toBe(allStates(chartModel(source).states).length + (chartModel(source).type === 'parallel' ? 1 : 0));
    }
    const k = exportChart(chartByName('khugepaged')!, 'scxml');
    expect(k).toContain('cond="csRegularFile &amp;&amp; csWalkDone"');
    expect(k).toMatch(/<transition event="done.state.scan_shmem.collapse_shmem" target="scan_shmem.returned"\/>/);
    expect(k).toMatch(/<final id="done"\/>/);
  });

  it('JSON: the definition with guards and actions by name, meta, in a fixed key order', () => {
    const a = thpsim('export', 'chart', 'khugepaged', '--format', 'json');
    const b = thpsim('export', 'chart', 'khugepaged', '--format', 'json');
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    const j = JSON.parse(a.out);
    expect(Object.keys(j)).toEqual(['thpsim_chart', 'id', 'kind', 'description', 'type', 'initial', 'states', 'events', 'guards', 'actions']);
    expect(j.guards).toContain('injectedFailure');
    expect(j.actions).toContain('csAlloc');
    const scan = j.states.find((s: { name: string }) => s.name === 'scan_shmem');
    expect(scan.meta.kernel).toBe('khugepaged_scan_shmem');
    const page = JSON.parse(exportChart(chartByName('page')!, 'json'));
    expect(page.type).toBe('parallel');
    expect(page.states.map((r: { name: string }) => r.name)).toEqual(['alloc', 'lock', 'ref', 'lru', 'uptodate', 'dirty', 'mapped']);
  });

  it('errors are one line, exit 2: unknown machine (listing the names), bad format', () => {
    const r = thpsim('export', 'chart', 'khugepage', '--format', 'mermaid');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^thpsim: thpsim export chart: <machine>: expected one of page, pmd, mm_struct, team_head, .*khugepaged.*; got 'khugepage'\n$/);
    const f = thpsim('export', 'chart', 'page', '--format', 'dot');
    expect(f.code).toBe(2);
    expect(f.err.trimEnd().split('\n')).toHaveLength(1);
    expect(f.err).toMatch(/expected mermaid, scxml, json; got 'dot'/);
  });
});

describe('thpsim export trace', { timeout: 120_000 }, () => {
  const EX = 'examples/collapse-shmem-vs-truncate.yaml';

  it('a scenario bound above 1,000,000 steps: the trace of the first 1,000,000, said on stderr; --max-steps bounds it, above 1,000,000 refused', () => {
    const long = writeLongRun(tmp);
    const out = join(tmp, 'long.trace');
    const r = thpsim('export', 'trace', long, '--format', 'ftrace', '-o', out);
    expect(r.code).toBe(0);
    expect(r.err).toBe("thpsim export trace: the trace is of the run's first 1,000,000 steps, the most it holds; the run goes on past them (max_steps 1,000,000,000,000)\n");
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines.filter((l) => l.includes('thpsim_step:'))).toHaveLength(1_000_000);
    const p = thpsim('export', 'trace', long, '--format', 'perfetto', '--max-steps', '1000');
    expect(p.code).toBe(0);
    expect(p.err).toBe('');
    expect(JSON.parse(p.out).traceEvents.length).toBeGreaterThan(1000);
    const bad = thpsim('export', 'trace', long, '--format', 'ftrace', '--max-steps', '1000001');
    expect(bad.code).toBe(2);
    expect(bad.err).toBe('thpsim: thpsim export trace: --max-steps: expected at most 1,000,000: a trace is built in memory, got 1,000,001\n');
  });

  it('perfetto: a named thread track per actor, nested slices, lock holds, SCAN_* instants; same bytes every run', () => {
    const a = thpsim('export', 'trace', EX, '--format', 'perfetto');
    expect(a.code).toBe(0);
    expect(a.err).toBe('');
    const b = thpsim('export', 'trace', EX, '--format', 'perfetto');
    expect(b.out).toBe(a.out);
    const j = JSON.parse(a.out) as { traceEvents: TraceEvent[]; displayTimeUnit: string };
    expect(j.displayTimeUnit).toBe('ns');
    const ev = j.traceEvents;
    const threads = ev.filter((e) => e.ph === 'M' && e.name === 'thread_name');
    expect(threads.map((e) => [e.tid, e.args!.name])).toEqual([[100, 'task-100 (T1)'], [101, 'task-101 (T2)'], [102, 'khugepaged-102 (khugepaged)']]);
    expect(ev.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.args!.name)).toEqual(threads.map((e) => e.args!.name));
    for (const t of threads) {
      const mine = ev.filter((e) => e.ph !== 'M' && e.pid === t.pid);
      expect(mine.filter((e) => e.tid !== undefined).every((e) => e.tid === t.tid)).toBe(true);
      expect(checkNested(mine), String(t.args!.name)).toBeGreaterThanOrEqual(2);
    }
    const kh = ev.filter((e) => e.tid === 102);
    const fns = new Set(kh.filter((e) => e.cat === 'function').map((e) => e.name));
    expect(fns).toContain('khugepaged_scan_shmem');
    expect(fns).toContain('collapse_shmem');
    const steps = kh.filter((e) => e.cat === 'step');
    expect(steps.length).toBeGreaterThan(20);
    expect(steps.every((e) => e.dur! > 0 && typeof e.args!.from === 'string')).toBe(true);
    expect(steps.some((e) => String(e.args!.kernel).startsWith('collapse_shmem: '))).toBe(true);
    // lock holds: begin/end pairs per hold, in the holder's process
    const holds = ev.filter((e) => e.cat === 'lock' && (e.ph === 'b' || e.ph === 'e'));
    const begins = new Map(holds.filter((e) => e.ph === 'b').map((e) => [`${e.pid}/${e.id2!.local}`, e]));
    const ends = holds.filter((e) => e.ph === 'e');
    expect(ends.length).toBe(begins.size);
    for (const e of ends) {
      const bgn = begins.get(`${e.pid}/${e.id2!.local}`)!;
      expect(bgn.name).toBe(e.name);
      expect(e.ts!).toBeGreaterThanOrEqual(bgn.ts!);
    }
    const names = new Set(holds.map((e) => e.name.replace(/\(.*$/, '')));
    for (const l of ['mmap_lock', 'page_lock', 'tree_lock']) expect(names).toContain(l);
    expect(holds.some((e) => e.pid === 102 && e.name === 'tree_lock(f)')).toBe(true);
    // instants: SCAN_* results on khugepaged's track, how each actor exited
    const scans = ev.filter((e) => e.ph === 'i' && e.cat === 'scan');
    expect(scans.length).toBeGreaterThan(0);
    for (const s of scans) {
      expect(s.name).toMatch(/^SCAN_[A-Z_]+$/);
      expect(s.tid).toBe(102);
      expect(s.s).toBe('t');
    }
    expect(scans.map((s) => s.name)).toContain('SCAN_SUCCEED');
    const exits = ev.filter((e) => e.cat === 'exit');
    expect(exits.map((e) => e.tid).sort()).toEqual([100, 101, 102]);
    for (const e of exits) expect(e.name).toBe(`exit: ${e.args!.outcome}`);
    // time moves forward with the run; ts in µs
    const ts = ev.filter((e) => e.ph !== 'M').map((e) => e.ts!);
    expect(ts).toEqual([...ts].sort((x, y) => x - y));
  });

  it('perfetto: system-call results and violations are instants (a MADV_COLLAPSE run, a replayed counterexample)', () => {
    const m = JSON.parse(thpsim('export', 'trace', 'examples/madvise-collapse.yaml', '--format', 'perfetto').out) as { traceEvents: TraceEvent[] };
    expect(m.traceEvents.some((e) => e.ph === 'i' && e.cat === 'syscall' && /^madvise\(0x[0-9a-f]+, 0x[0-9a-f]+, MADV_COLLAPSE\) = /.test(e.name))).toBe(true);
    const file = join(tmp, 'cex.json');
    const r = thpsim('export', 'trace', 'examples/collapse-shmem-as-posted-exit.replay.json', '--format', 'perfetto', '-o', file);
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    const v = (JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents.filter((e) => e.cat === 'violation');
    expect(v.length).toBeGreaterThan(0);
    expect(v[0]!.name).toMatch(/^violation: [\w-]+$/);
    expect(v[0]!.args!.message).toEqual(expect.any(String));
  });

  it('ftrace: exactly the lines thpsim run --trace prints (scenario with --seed, and replay file)', () => {
    const run = thpsim('run', EX, '--trace', '--seed', '3');
    const exp = thpsim('export', 'trace', EX, '--format', 'ftrace', '--seed', '3');
    expect(exp.code).toBe(0);
    expect(exp.out.length).toBeGreaterThan(1000);
    expect(run.out.startsWith(exp.out)).toBe(true);
    expect(run.out.slice(exp.out.length)).toMatch(/^thpsim run: /);
    const replay = 'examples/collapse-shmem-as-posted-exit.replay.json';
    const rr = thpsim('run', '--replay', replay, '--trace');
    const er = thpsim('export', 'trace', replay, '--format', 'ftrace');
    expect(er.code).toBe(0);
    expect(rr.out.slice(0, rr.out.indexOf('thpsim run: '))).toBe(er.out);
  });

  it('errors are one line, exit 2: missing file, bad format, --seed with a replay file', () => {
    for (const args of [
      ['export', 'trace', join(tmp, 'nope.yaml'), '--format', 'perfetto'],
      ['export', 'trace', EX, '--format', 'systrace'],
      ['export', 'trace', EX],
      ['export', 'trace', 'examples/collapse-shmem-as-posted-exit.replay.json', '--format', 'ftrace', '--seed', '2'],
    ]) {
      const r = thpsim(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.out).toBe('');
      expect(r.err.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect(thpsim('export', 'trace', join(tmp, 'nope.yaml'), '--format', 'perfetto').err).toMatch(/nope\.yaml: no such file\n$/);
  });
});

describe('generated chart docs', () => {
  it('docs/charts.md and the README section are what npm run docs:charts writes now', () => {
    expect(readFileSync(CHARTS_MD, 'utf8') === chartsDoc(), 'docs/charts.md is stale: run npm run docs:charts').toBe(true);
    const readme = readFileSync(README_MD, 'utf8');
    expect(spliceReadme(readme) === readme, 'README.md statechart section is stale: run npm run docs:charts').toBe(true);
    const doc = chartsDoc();
    for (const name of ['page', 'pmd', 'mm_struct', 'team_head', 'khugepaged', 'task', 'shmem_reclaim', 'huge_zero_page_shrinker']) {
      expect(doc).toContain(`(\`${name}\`)`);
    }
    // every diagram small enough for GitHub's Mermaid (50,000 characters)
    for (const block of doc.split('```mermaid\n').slice(1)) expect(block.indexOf('```')).toBeLessThan(50_000);
  });
});
