// thpsim inspect: the page in a real headless browser (the system chromium where present,
// and the one shipped in the npm package @sparticuz/chromium: test/helpers/browser.ts; never
// a downloaded one), the server's loopback-only rule, and the command as a user runs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { loadScenario, validateScenario } from '../src/scenario/load.ts';
import { readReplay } from '../src/cli/replay.ts';
import { type Cell, type Recording, pageCell, record } from '../src/inspect/record.ts';
import { buildPayload } from '../src/inspect/payload.ts';
import { request } from 'node:http';
import { type InspectServer, isLoopback, startServer } from '../src/inspect/server.ts';
import { PAGE_CHART, PG, TEAM_HEAD_CHART } from '../src/memory/pages.ts';
import { teamCmd, teamMember } from '../src/memory/team.ts';
import { run } from '../src/sched/run.ts';
import { type BrowserKind, SYSTEM_PATHS, browsersUnderTest, findBrowser } from './helpers/browser.ts';
import { servedUrl } from './helpers/served.ts';
import { writeLongRun } from './helpers/long_run.ts';

const ARTIFACTS = 'test-artifacts';

function thpsim(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/thpsim.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the inspector refuses anything but loopback', () => {
  it('isLoopback: 127.0.0.0/8, ::1 and localhost only', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', '203.0.113.7', '::ffff:10.0.0.1', 'example.com', '128.0.0.1', ''])
      expect(isLoopback(h), h).toBe(false);
  });

  it('startServer will not bind a non-loopback address, nor answer a request addressed to another name (DNS rebinding)', async () => {
    await expect(startServer('{}', '0.0.0.0', 0)).rejects.toThrow(/not a loopback address/);
    const srv = await startServer('{"ok":1}', '127.0.0.1', 0);
    try {
      const { port } = new URL(srv.url);
      const get = (host: string) => new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/api/run', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject).end();
      });
      expect(await get(`127.0.0.1:${port}`)).toBe(200);
      expect(await get(`localhost:${port}`)).toBe(200);
      expect(await get(`[::1]:${port}`)).toBe(200);
      expect(await get(`attacker.example:${port}`)).toBe(403);
    } finally {
      await srv.close();
    }
  });

  it('thpsim inspect --host 0.0.0.0 (or an external address): one-line error, exit 2, nothing served', () => {
    for (const host of ['0.0.0.0', '203.0.113.7', '::']) {
      const r = thpsim('inspect', 'examples/collapse-shmem-vs-truncate.yaml', '--host', host);
      expect(r.code, host).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(new RegExp(`^thpsim: thpsim inspect: --host: ${host.replace(/\./g, '\\.')} is not a loopback address.*\\n$`));
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
  }, 30_000);

  it('a scenario error is one line and exit 2 too', () => {
    const r = thpsim('inspect', 'examples/no-such-file.yaml');
    expect(r.code).toBe(2);
    expect(r.err).toBe('thpsim: examples/no-such-file.yaml: no such file\n');
  }, 30_000);
});

describe('thpsim inspect as a user runs it', () => {
  it('prints the URL, serves the page and the run, and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'thpsim-inspect-'));
    const file = join(dir, 'khugepaged-only.yaml');
    copyFileSync('test/fixtures/khugepaged-only.yaml', file);
    const child = spawn(process.execPath, ['bin/thpsim.js', 'inspect', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const { url, out, err } = await servedUrl(child);
    expect(out()).toMatch(/^thpsim inspect: khugepaged-only \(seed \d+\): ok after \d+ steps\n/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    const api = await (await fetch(`${url}api/run`)).json();
    expect(api.run.scenario).toBe('khugepaged-only');
    expect(Object.keys(api.charts)).toEqual(['khugepaged']);
    expect((await fetch(`${url}../package.json`)).status).toBe(404);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(err()).toBe('');
  }, 60_000);
});

describe('thpsim inspect on a long run', () => {
  it('a scenario bound above 200,000 steps: the page shows the first 200,000, and stderr says so; --max-steps above it is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'thpsim-inspect-long-'));
    const file = writeLongRun(dir);
    const child = spawn(process.execPath, ['bin/thpsim.js', 'inspect', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const { url, out, err } = await servedUrl(child);
    expect(out()).toMatch(/^thpsim inspect: long-run \(seed 1\): step-bound after 200000 steps\n/);
    expect(err()).toBe("thpsim inspect: the page shows the run's first 200,000 steps, the most it holds; the run goes on past them (max_steps 1,000,000,000,000)\n");
    const api = await (await fetch(`${url}api/run`)).json();
    expect(api.run.steps).toBe(200_000);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    const r = thpsim('inspect', file, '--max-steps', '200001');
    expect(r.code).toBe(2);
    expect(r.err).toBe('thpsim: thpsim inspect: --max-steps: expected at most 200,000: the page holds every step of the run, got 200,001\n');
  }, 60_000);
});

describe('record(): one run, frame by frame', () => {
  it('frame n is the model after n steps: states, the step that led there, its events, the memory cells', async () => {
    const scenario = await loadScenario('examples/collapse-shmem-vs-truncate.yaml');
    const rec = record(scenario);
    const r = run(scenario);
    expect(rec.steps).toBe(r.steps);
    expect(rec.states).toHaveLength(r.steps + 1);
    // the last frame's states are the run's final states
    rec.actors.forEach((a, i) => expect(rec.paths[i]![rec.states[r.steps]![i]!], a.id).toBe(r.actors[i]!.state));
    // frame n's step is the schedule's decision n-1, and its events include that step's line
    for (let n = 1; n <= r.steps; n++) {
      const [a, from] = rec.moves[n]!;
      const d = r.schedule[n - 1]!;
      expect([rec.actors[a]!.id, from]).toEqual([d.actor, d.state]);
      expect(rec.events.some(([f, who, text]) => f === n && who === a && text.startsWith(`thpsim_step: actor=${d.actor} ${d.state} -> `))).toBe(true);
    }
    // every event is in order of frames, and setup's (populate, actor start) are frame 0
    expect(rec.events.every((e, i) => i === 0 || e[0] >= rec.events[i - 1]![0])).toBe(true);
    // the deltas add up to the page cache the run ended with
    const cells = new Map<string, Cell>();
    for (const d of rec.cells) for (const [k, c] of Object.entries(d)) cells.set(k, c);
    const ino = r.kernel.inodes[0]!;
    for (let i = 0; i < ino.mapping.slots.length; i++) {
      const v = ino.mapping.slots[i]!;
      const c = cells.get(`f0:${i}`)!;
      expect(c.t === 'page' ? c.pfn : c.t === 'hole' ? -1 : NaN, `f[${i}]`).toBe(v);
      if (c.t === 'page') expect([c.ref, c.map]).toEqual([r.kernel.pages.pageCount(v), r.kernel.pages.pageMapcount(v)]);
    }
    // a frame with no memory event records no cell
    const quiet = rec.moves.findIndex((m, n) => n > 0 && !rec.events.some(([f, , t]) => f === n && !t.startsWith('thpsim_step')));
    expect(quiet).toBeGreaterThan(0);
    expect(rec.cells[quiet]).toEqual({});
  });

  it('a team page shows its team head\'s team-chart state, a team head its own (pageCell)', async () => {
    const k = run(await loadScenario('examples/collapse-shmem-vs-truncate.yaml')).kernel;
    const team = (t: string) => TEAM_HEAD_CHART.encode({ team: t, hugehole: 'untagged', checked: 'unchecked' });
    const head = k.pages.alloc(k.HPAGE_PMD_ORDER, true, 0);
    k.pages.splitPage(head, 0);
    for (let i = 0; i < k.HPAGE_PMD_NR; i++) k.pages.index[head + i] = i;
    expect(pageCell(k, head).tst).toBeUndefined();
    // recovery's prepared head is not PageTeam yet, but heads a team all the same
    teamCmd(k, head, 'PREPARE', 0);
    expect(pageCell(k, head).tst).toBe(team('prepared'));
    teamCmd(k, head, 'EXPOSE', 0);
    teamMember(k, head + 1, true, 0);
    teamCmd(k, head, 'ENTEAM_FIRST', 0);
    expect(pageCell(k, head)).toMatchObject({ tst: team('filling') });
    expect(pageCell(k, head).th).toBeUndefined();
    expect(pageCell(k, head + 1)).toMatchObject({ tst: team('filling'), th: head });
    // not a member yet
    expect(pageCell(k, head + 2).tst).toBeUndefined();
  });
});

/** The first frame at which some file page shows a frozen refcount (collapse_shmem's page_ref_freeze). */
function firstFrozen(rec: Recording): { frame: number; key: string } {
  const cur = new Map<string, Cell>();
  for (let f = 0; f < rec.cells.length; f++) {
    for (const [k, c] of Object.entries(rec.cells[f]!)) cur.set(k, c);
    for (const [k, c] of cur) {
      if (k.startsWith('f') && c.t === 'page' && PAGE_CHART.stateName(c.hst ?? c.st, 'ref') === 'frozen') return { frame: f, key: k };
    }
  }
  throw new Error('no page is ever frozen in this run');
}

// with THPSIM_BROWSER unset: once in the system chromium (where there is one) and once in the
// npm-shipped one, found with every system path ignored (THPSIM_BROWSER=bundled runs only that)
describe.each(browsersUnderTest())('the inspector page in headless chromium (%s)', (kind: BrowserKind) => {
  let browser: Browser;
  let page: Page;
  const servers: InspectServer[] = [];
  let ok: { url: string; rec: Recording };
  let bad: { url: string; rec: Recording };
  let overwrite: { url: string; rec: Recording };
  const replays: Record<string, Awaited<ReturnType<typeof readReplay>>> = {};
  const elsewhere: string[] = [];

  const serve = async (rec: Recording, scenario: Parameters<typeof buildPayload>[0], removedActors?: string[]) => {
    const s = await startServer(JSON.stringify(await buildPayload(scenario, rec, { removedActors })), '127.0.0.1', 0);
    servers.push(s);
    return s.url;
  };

  beforeAll(async () => {
    const found = findBrowser(kind);
    expect(found.kind).toBe(kind);
    if (kind === 'bundled') expect(SYSTEM_PATHS).not.toContain(found.executablePath);
    // (collapse_shmem as posted keeps its new page frozen in the page cache, which the page
    // shows; the example selects collapse_shmem_no_freeze_new_page, which does not)
    const example = await loadScenario('examples/collapse-shmem-vs-truncate.yaml');
    const scenario = { ...example, variants: example.variants.filter((v) => v !== 'collapse_shmem_no_freeze_new_page') };
    const rec = record(scenario);
    ok = { rec, url: await serve(rec, scenario) };
    const rp = await readReplay('examples/collapse-shmem-as-posted-holes.replay.json');
    const rec2 = record(rp.scenario, { seed: rp.seed, schedule: rp.decisions });
    bad = { rec: rec2, url: await serve(rec2, rp.scenario) };
    // seed 004's zero-pmd overwrite as `explore --strategy dfs` minimises it: without T3 and kswapd
    const zp = await readReplay('test/fixtures/zero-page-overwrite.replay.json');
    const rec3 = record(zp.scenario, { seed: zp.seed, schedule: zp.decisions });
    overwrite = { rec: rec3, url: await serve(rec3, zp.scenario, zp.removedActors) };
    Object.assign(replays, { holes: rp, overwrite: zp });
    browser = await chromium.launch({
      executablePath: found.executablePath,
      ...(found.env ? { env: { ...process.env, ...found.env } } : {}),
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // fully offline: every request goes to the inspector's own server
    await page.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith('http://127.0.0.1:') || u.startsWith('data:')) return route.continue();
      elsewhere.push(u);
      return route.abort();
    });
    (page as Page & { errors?: string[] }).errors = errors;
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  const frameNow = async () => Number(await page.getAttribute('[data-testid=position]', 'data-frame'));
  const activeState = (actor: string) => page.getAttribute(`[data-testid=chart-${actor}] .state.active`, 'data-path');
  const cellClass = async (testid: string) => (await page.getAttribute(`[data-testid=${testid}]`, 'class'))!.split(' ');
  const expectedState = (rec: Recording, frame: number, actor: string) => {
    const a = rec.actors.findIndex((x) => x.id === actor);
    return rec.paths[a]![rec.states[frame]![a]!]!;
  };

  it('draws every actor\'s chart and the object charts, steps forward and back, marks a page frozen during collapse', async () => {
    const { rec, url } = ok;
    await page.goto(url);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    expect(await page.textContent('[data-testid=verdict]')).toBe('ok');
    for (const id of ['T1', 'T2', 'khugepaged', 'page', 'pmd', 'mm_struct', 'team_head']) {
      expect(await page.locator(`[data-testid=chart-${id}] .state`).count(), id).toBeGreaterThan(3);
    }
    // the task chart nests: compound states hold their children
    expect(await page.locator('[data-testid=chart-T1] .state.compound').count()).toBeGreaterThan(10);
    expect(await frameNow()).toBe(0);

    // step forward until khugepaged moves, then back: its highlighted state changes and returns
    const k = rec.actors.findIndex((a) => a.id === 'khugepaged');
    const moves = rec.moves.findIndex((m) => m !== null && m[0] === k);
    const start = expectedState(rec, 0, 'khugepaged');
    expect(await activeState('khugepaged')).toBe(start);
    for (let f = 1; f <= moves; f++) await page.click('[data-testid=step-fwd]');
    expect(await frameNow()).toBe(moves);
    const after = expectedState(rec, moves, 'khugepaged');
    expect(after).not.toBe(start);
    expect(await activeState('khugepaged')).toBe(after);
    expect(await page.textContent('[data-testid=state-khugepaged]')).toBe(after);
    expect(await page.locator('[data-testid=chart-khugepaged] .edge.taken').count()).toBeGreaterThan(0);
    await page.click('[data-testid=step-back]');
    expect(await frameNow()).toBe(moves - 1);
    expect(await activeState('khugepaged')).toBe(start);
    await page.keyboard.press('ArrowRight');
    expect(await activeState('khugepaged')).toBe(after);

    // jump to the step before collapse_shmem freezes a page: not frozen; one step on: frozen; back: not
    const { frame: fz, key } = firstFrozen(rec);
    const [, index] = key.slice(1).split(':');
    const cell = `cell-f-${rec.files[0]!.name}-${index}`;
    await page.fill('[data-testid=jump-input]', String(fz - 2));
    await page.click('[data-testid=jump-go]');
    expect(await frameNow()).toBe(fz - 1);
    expect(await cellClass(cell)).not.toContain('frozen');
    await page.click('[data-testid=step-fwd]');
    expect(await frameNow()).toBe(fz);
    expect(await cellClass(cell)).toContain('frozen');
    expect(await page.getAttribute(`[data-testid=${cell}]`, 'title')).toMatch(/refcount 0 \(frozen by page_ref_freeze\)/);
    // the page chart shows the selected page: its ref region is in `frozen`
    await page.click(`[data-testid=${cell}]`);
    expect(await page.locator('[data-testid=chart-page] .state.active[data-path="ref.frozen"]').count()).toBe(1);
    await page.click('[data-testid=step-back]');
    expect(await cellClass(cell)).not.toContain('frozen');
    expect(await page.locator('[data-testid=chart-page] .state.active[data-path="ref.live"]').count()).toBe(1);
    await page.click('[data-testid=step-fwd]');

    // the legend names the colours
    const legend = await page.textContent('[data-testid=legend]');
    for (const w of ['locked', 'frozen', 'isolated', 'uptodate', 'dirty', 'compound', 'team', 'swapped', 'hole', 'pmd-mapped']) expect(legend).toContain(w);

    // the timeline: this step's events are current, and filtering by actor hides the others'
    const nowRows = page.locator('[data-testid=timeline] .ev.now');
    expect(await nowRows.count()).toBeGreaterThan(0);
    expect(await nowRows.first().getAttribute('data-frame')).toBe(String(fz));
    const kRows = page.locator(`[data-testid=timeline] .ev[data-actor="${k}"]`);
    expect(await kRows.count()).toBeGreaterThan(10);
    await page.uncheck('[data-testid=filter-khugepaged]');
    expect(await page.locator(`[data-testid=timeline] .ev[data-actor="${k}"]:visible`).count()).toBe(0);
    expect(await page.locator('[data-testid=timeline] .ev[data-actor="0"]:visible').count()).toBeGreaterThan(0);
    await page.check('[data-testid=filter-khugepaged]');

    // play advances, pause stops
    await page.selectOption('#speed', '30');
    await page.click('[data-testid=play]');
    await page.waitForFunction((f) => Number(document.querySelector('[data-testid=position]')!.getAttribute('data-frame')) > f + 2, fz);
    await page.click('[data-testid=play]');
    const paused = await frameNow();
    await page.waitForTimeout(150);
    expect(await frameNow()).toBe(paused);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.fill('[data-testid=jump-input]', String(fz - 1));
    await page.click('[data-testid=jump-go]');
    await page.screenshot({ path: join(ARTIFACTS, `inspect-${kind}.png`), fullPage: true });
  }, 60_000);

  it('a counterexample replay: the violating step is marked and explained', async () => {
    const { rec, url } = bad;
    const v = rec.violations[0]!;
    expect(rec.verdict).toBe('violation');
    await page.goto(url);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid=verdict]')).toBe('violation');
    const box = page.locator('[data-testid=violation]');
    expect(await box.isVisible()).toBe(true);
    const text = await box.textContent();
    expect(text).toContain('counterexample');
    expect(text).toContain(v.invariant);
    expect(text).toContain(`At step ${v.step}, while ${v.actor} stepped from ${v.state}`);
    expect(await page.textContent('[data-testid=violation-message]')).toBe(v.message);
    // the invariant's own description, from its monitor
    expect(text).toMatch(/The invariant: .*(read|load)/);
    expect(await page.getAttribute('[data-testid=violation-marker]', 'data-frame')).toBe(String(v.frame));
    expect(await frameNow()).toBe(0);
    await page.keyboard.press('v');
    expect(await frameNow()).toBe(v.frame);
    await page.click('[data-testid=step-first]');
    await page.click('[data-testid=goto-violation]');
    expect(await frameNow()).toBe(v.frame);
    expect(await cellClass('position')).toContain('at-violation');
    expect(await page.textContent('[data-testid=position]')).toContain(`after step ${v.step}`);
    expect(await page.locator('[data-testid=timeline] .ev.violation.now').count()).toBe(1);
    // the cells the message names ("load of m1:0x2000 (f[2]) returned garbage") are marked
    expect(await cellClass('cell-f-f-2')).toContain('culprit');
    expect(await cellClass('cell-m-m1-2')).toContain('culprit');
    expect(await cellClass('cell-f-f-1')).not.toContain('culprit');
    expect(await page.getAttribute('[data-testid=cell-f-f-2]', 'title')).toMatch(/data: uninitialised garbage/);
    await page.click('[data-testid=step-back]');
    expect(await cellClass('position')).not.toContain('at-violation');
    expect(await cellClass('cell-f-f-2')).not.toContain('culprit');
    await page.click('[data-testid=step-fwd]');
    await page.screenshot({ path: join(ARTIFACTS, `inspect-counterexample-${kind}.png`), fullPage: true });
    expect(elsewhere).toEqual([]);
  }, 60_000);

  it.each(['overwrite', 'holes'])('counterexample %s at 1600×1000: lanes of the actors that ran, its switches, the causes marked, the story on the first screen', async (name) => {
    const { rec, url } = name === 'overwrite' ? overwrite : bad;
    const rp = replays[name]!;
    const v = rec.violations[0]!;
    await page.setViewportSize({ width: 1600, height: 1000 });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    // a lane for exactly the actors that took a step in the replay
    const ran = [...new Set(rp.decisions.map((d) => d.actor))].sort();
    const heads = await page.locator('[data-testid^=lane-head-]').evaluateAll((es) => es.map((e) => e.getAttribute('data-testid')!.slice('lane-head-'.length)));
    expect(heads.sort()).toEqual(ran);
    // a switch marked at exactly the steps where the replay's actor changes
    const switches = rp.decisions.flatMap((d, i) => (i > 0 && d.actor !== rp.decisions[i - 1]!.actor ? [i] : []));
    const marked = await page.locator('[data-testid=lane-row][data-switch]').evaluateAll((es) => es.map((e) => Number(e.getAttribute('data-step'))));
    expect(marked).toEqual(switches);
    // each switch says whether the actor before was preempted, as the run counted it
    const preempted = await page.locator('[data-testid=lane-row][data-switch=preempted]').count();
    expect(preempted).toBe(rec.moves.filter((m) => m?.[4]).length);
    // the cause steps (test/causes.test.ts finds them again from the bus events), marked in the lanes and on the slider
    const causeSteps = [...new Set(rec.explanation!.causes.map((c) => c.step))];
    const rows = await page.locator('[data-testid=lane-row][data-cause]').evaluateAll((es) => es.map((e) => Number(e.getAttribute('data-step'))));
    expect(rows).toEqual(causeSteps);
    const markers = await page.locator('[data-testid=cause-marker]').evaluateAll((es) => es.map((e) => Number(e.getAttribute('data-frame'))));
    expect(markers).toEqual(rec.explanation!.causes.filter((c) => !c.violation).map((c) => c.step + 1));
    // the violating step is the last row of the lanes
    const last = page.locator('[data-testid=lanes] .lane-row.step').last();
    expect(await last.getAttribute('data-step')).toBe(String(v.step));
    expect(await last.getAttribute('class')).toContain('violation');
    // on the first screen, without a hover: the story, the lanes down to the violating step, each actor's kernel line
    const onScreen = async (sel: string) => {
      const b = await page.locator(sel).first().boundingBox();
      return b !== null && b.y >= 0 && b.y + b.height <= 1000 && b.x + b.width <= 1600;
    };
    await page.keyboard.press('v');
    expect(await page.textContent('[data-testid=story]')).toBe(rec.explanation!.story);
    expect(await onScreen('[data-testid=story]')).toBe(true);
    expect(await onScreen(`[data-testid=lanes] .lane-row[data-step="${v.step}"]`)).toBe(true);
    for (const a of rec.actors) {
      expect(await onScreen(`[data-testid=kernel-${a.id}]`), a.id).toBe(true);
      expect((await page.textContent(`[data-testid=kernel-${a.id}]`))!.length).toBeGreaterThan(10);
      expect(await onScreen(`[data-testid=chart-${a.id}]`), a.id).toBe(true);
    }
    // the actor's chart shows the function it is in, the rest hidden; its callers as breadcrumbs
    const vPath = v.state;
    expect(await page.textContent(`[data-testid=crumbs-${v.actor}]`)).toBe(name === 'overwrite' ? 'handle_mm_fault › do_huge_pmd_anonymous_page' : '');
    const visible = await page.locator(`[data-testid=chart-${v.actor}] .state:not(.outside)`).evaluateAll((es) => es.map((e) => e.getAttribute('data-path')!));
    const fn = vPath.includes('.') ? vPath.slice(0, vPath.lastIndexOf('.')) : '';
    expect(visible.every((p) => (fn ? p === fn || p.startsWith(`${fn}.`) : !p.includes('.')))).toBe(true);
    // clicking a cause row jumps to the model right after it
    const first = rec.explanation!.causes[0]!;
    await page.click(`[data-testid=lane-row][data-step="${first.step}"]`);
    expect(await frameNow()).toBe(first.step + 1);
    // the grouped event list: the step's kernel line heads its events
    expect(await page.textContent('[data-testid=now-events] .now-head')).toContain(`step ${first.step}`);
    await page.keyboard.press('v');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, `inspect-${name}-1600x1000-${kind}.png`) });
    if (name === 'overwrite') {
      // the scenario that ran: minimised without T3 and kswapd, mm2 (T3's) not drawn
      expect(await page.textContent('[data-testid=minimised]')).toMatch(/^minimised: without T3, kswapd/);
      expect(await page.locator('[data-testid=mm-mm2]').count()).toBe(0);
      expect(await page.textContent('[data-testid=idle-extents]')).toContain('mm mm2');
    } else {
      expect(await page.isVisible('[data-testid=minimised]')).toBe(false);
      // the garbage is on the cell, not only in its tooltip
      expect(await page.textContent('[data-testid=cell-f-f-2] .data')).toBe('??');
      expect(await page.textContent('[data-testid=cell-f-f-0] .data')).toBe('#1');
    }
    await page.setViewportSize({ width: 1600, height: 1100 });
    expect(elsewhere).toEqual([]);
  }, 60_000);

  it('a team page: the T badge, its team head\'s state in the tooltip and in the team head chart', async () => {
    // no actor builds a team yet: frame 0 of the run with f[0] and f[1] one team's pages,
    // written by hand as pageCell records them
    const scenario = await loadScenario('examples/collapse-shmem-vs-truncate.yaml');
    const rec: Recording = structuredClone(ok.rec);
    const st = PAGE_CHART.encode({ ...PAGE_CHART.value(PAGE_CHART.initial), alloc: 'allocated', uptodate: 'uptodate' });
    const tst = TEAM_HEAD_CHART.encode({ team: 'filling', hugehole: 'tagged', checked: 'unchecked' });
    const teamPage = (pfn: number, th?: number): Cell => ({ t: 'page', pfn, st, fl: PG.team, ref: 2, map: 0, head: pfn, order: 0, data: 0, tst, ...(th !== undefined ? { th } : {}) });
    rec.cells[0]!['f0:0'] = teamPage(0x40);
    rec.cells[0]!['f0:1'] = teamPage(0x41, 0x40);
    await page.goto(await serve(rec, scenario));
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
    expect(await frameNow()).toBe(0);
    expect(await page.textContent('[data-testid=card-chart-team_head] strong')).toBe('huge tmpfs team head');
    const title = (testid: string) => page.getAttribute(`[data-testid=${testid}]`, 'title');
    expect(await cellClass('cell-f-f-1')).toContain('team');
    expect(await page.textContent('[data-testid=cell-f-f-1] .badges')).toContain('T');
    expect(await title('cell-f-f-1')).toMatch(/^team head chart: filling tagged unchecked \(its team head 0x40\)$/m);
    expect(await title('cell-f-f-0')).toMatch(/^team head chart: filling tagged unchecked$/m);
    expect(await cellClass('cell-f-f-2')).not.toContain('team');
    expect(await title('cell-f-f-2')).not.toMatch(/team/);
    const chart = '[data-testid=chart-team_head] .state.active';
    await page.click('[data-testid=cell-f-f-1]');
    expect(await page.locator(`${chart}[data-path="team.filling"]`).count()).toBe(1);
    expect(await page.locator(`${chart}[data-path="hugehole.tagged"]`).count()).toBe(1);
    expect(await page.locator(`${chart}[data-path="checked.unchecked"]`).count()).toBe(1);
    expect(await page.textContent('[data-testid=card-chart-team_head] .caption')).toBe('team head 0x40');
    await page.click('[data-testid=cell-f-f-2]');
    expect(await page.locator(chart).count()).toBe(0);
    expect(elsewhere).toEqual([]);
  }, 60_000);

  it("an mm with a 1 GiB VMA: the page draws its first 4,096 pages, as the run was recorded, and says how many it leaves out", async () => {
    const scenario = await validateScenario({
      name: 'big-vma', hpage_pmd_nr: 4,
      mms: [{ name: 'm', vmas: [{ start: 0, size: 0x40000000 }] }],
      actors: [{ kind: 'task', id: 'T', mm: 'm', ops: [{ write: 0x1000 }] }],
    }, '<test>');
    const rec = record(scenario);
    await page.goto(await serve(rec, scenario));
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
    expect(await page.locator('[data-testid^=cell-m-m-]').count()).toBe(4096);
    expect(await page.textContent('[data-testid=cells-cut-m]')).toBe("not shown: 258,048 more pages of m's VMAs — the inspector draws an mm's first 4,096, as the run was recorded");
    expect(await page.locator('[data-testid=cell-m-m-4095]').count()).toBe(1);
    expect(await page.locator('[data-testid=cell-m-m-4096]').count()).toBe(0);
    expect(await cellClass('cell-m-m-2')).toContain('none');
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
  }, 60_000);
});
