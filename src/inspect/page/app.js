// The inspector page: fetches the recorded run (/api/run) and draws frame n of it — the
// interleaving as lanes (lanes.js), every actor in the kernel function it is in
// (charts.js), the memory map (memory.js), the kernel objects' charts and the events
// grouped by step (events.js). Frame n is the model after n steps; step numbers (as in the
// trace and in violation reports) count from 0, so frame n shows the state right after
// step n-1. Plain ES modules: no framework, no bundler, no network beyond this server.

import { $, el } from './util.js';
import { breadcrumbs, chartCard, follow, highlight, kernelLine } from './charts.js';
import { initMemory, renderExtents, renderLegend, showCells, showObjects } from './memory.js';
import { renderLanes, showLanes } from './lanes.js';
import { renderEvents, showEvents } from './events.js';

/** Full cell maps every CHECK frames; frame n = nearest checkpoint + the deltas after it. */
const CHECK = 64;

let P; // the payload: { run, charts, objects, decode, pg, invariants, removedActors }
let R; // P.run: the recording (src/inspect/record.ts)
let nFrames = 0;
let frame = -1;
let timer = null;
const checkpoints = [];
/** heldAt[a][f]: the locks actor a holds at frame f. */
const heldAt = [];
const actorViews = [];
const objectViews = {};

// ---- frames -----------------------------------------------------------------------------

function buildFrames() {
  const m = new Map();
  for (let i = 0; i < nFrames; i++) {
    for (const [k, v] of Object.entries(R.cells[i])) m.set(k, v);
    if (i % CHECK === 0) checkpoints.push(new Map(m));
  }
  R.actors.forEach((_, a) => {
    const h = [];
    let cur = [];
    for (let i = 0; i < nFrames; i++) {
      if (R.held[i][a] !== undefined) cur = R.held[i][a];
      h.push(cur);
    }
    heldAt.push(h);
  });
}

function cellsAt(f) {
  const base = Math.floor(f / CHECK);
  const m = new Map(checkpoints[base]);
  for (let i = base * CHECK + 1; i <= f; i++) for (const [k, v] of Object.entries(R.cells[i])) m.set(k, v);
  return m;
}

// ---- rendering --------------------------------------------------------------------------

function renderHeader() {
  $('scenario-name').textContent = R.scenario;
  const verdict = $('verdict');
  verdict.textContent = R.verdict;
  verdict.className = R.verdict === 'ok' ? 'ok' : 'bad';
  $('scenario-meta').textContent = `seed ${R.seed} · HPAGE_PMD_NR=${R.hpagePmdNr} · ${R.steps} steps · ${R.actors.map((a) => `${a.id} (${a.kind}): ${a.outcome}`).join(', ')}`;
  const desc = $('scenario-description');
  if (P.removedActors.length) {
    // the description is the scenario as written; the run is the minimised one, without them
    $('minimised').hidden = false;
    $('minimised').textContent = `minimised: without ${P.removedActors.join(', ')} — the run below has only ${R.actors.map((a) => a.id).join(', ')}; the description is of the scenario as written`;
    desc.classList.add('as-written');
  }
  desc.textContent = R.description;
  document.title = `thpsim inspect: ${R.scenario}`;
}

/** The kernel line a step of actor `a` from `path` runs. */
const line = (a, path) => kernelLine(actorViews[a], path);

function renderObjectCharts() {
  const box = $('object-charts');
  for (const [name, L] of Object.entries(P.objects)) {
    const { v, card } = chartCard(L.title, `chart-${name}`, L, [], () => render());
    card.classList.add('object');
    objectViews[name] = v;
    box.append(card);
  }
}

function renderActorCharts() {
  const box = $('actor-charts');
  R.actors.forEach((a, ix) => {
    const crumbs = el('div', { class: 'crumbs', 'data-testid': `crumbs-${a.id}` });
    const kernel = el('div', { class: 'kernel-line', 'data-testid': `kernel-${a.id}` });
    const state = el('code', { class: 'state-path', 'data-testid': `state-${a.id}` });
    const locks = el('div', { class: 'locks', 'data-testid': `locks-${a.id}` });
    const { v, card } = chartCard(`${a.id} (${a.kind})`, `chart-${a.id}`, P.charts[a.chart], [crumbs, kernel, el('div', { class: 'state-line' }, state), locks], () => render());
    Object.assign(v, { crumbs, kernel, state, locks, ix });
    actorViews.push(v);
    box.append(card);
  });
}

function renderViolation(causes) {
  const box = $('violation');
  const markers = $('markers');
  const v = R.violations[0];
  if (R.divergence) {
    box.hidden = false;
    box.append(el('p', { class: 'divergence', text: `The replay diverged: ${R.divergence}` }));
  }
  const at = (f) => `left: ${nFrames > 1 ? (f / (nFrames - 1)) * 100 : 0}%`;
  for (const c of causes) {
    if (c.violation) continue;
    markers.append(el('span', { class: 'cause-marker', 'data-testid': 'cause-marker', 'data-frame': c.step + 1, style: at(c.step + 1), title: `step ${c.step}: ${R.actors[c.actor]?.id ?? '-'} ${c.what}` }));
  }
  if (!v) return;
  box.hidden = false;
  const go = el('button', { id: 'goto-violation', 'data-testid': 'goto-violation', text: `show step ${v.step} (v)` });
  go.addEventListener('click', () => show(v.frame));
  box.append(
    el('h2', {}, el('span', { class: 'tag', text: 'counterexample' }), ` ${v.invariant}`, ' ', go),
    R.explanation ? el('p', { class: 'story', 'data-testid': 'story', text: R.explanation.story }) : null,
    el('p', { class: 'message', 'data-testid': 'violation-message', text: v.message }),
    el('p', { text: `At step ${v.step}, ${v.actor === '-' ? 'with no actor stepping' : `while ${v.actor} stepped from ${v.state || 'its state'}`}. ${R.violations.length > 1 ? `(${R.violations.length - 1} more violation(s) at the same step.)` : ''}` }),
    el('p', { class: 'invariant' }, el('em', { text: 'The invariant: ' }), P.invariants[v.invariant] ?? 'see docs/scenarios.md'),
  );
  markers.append(el('span', { id: 'violation-marker', 'data-testid': 'violation-marker', 'data-frame': v.frame, title: `${v.invariant} at step ${v.step}`, style: at(v.frame) }));
}

/** The lanes end at the bottom of the first screen, so the violating step (the last row) is on it. */
function fitLanes() {
  const lanes = $('lanes');
  const top = lanes.getBoundingClientRect().top + scrollY;
  lanes.style.maxHeight = `${Math.max(innerHeight - top - 24, 240)}px`;
}

// ---- showing a frame ----------------------------------------------------------------------

function showActors() {
  const move = R.moves[frame];
  actorViews.forEach((v) => {
    const path = R.paths[v.ix][R.states[frame][v.ix]];
    const stepped = move && move[0] === v.ix;
    highlight(v, [path], stepped ? [move[1], move[2]] : null);
    v.state.textContent = path;
    v.state.dataset.path = path;
    v.crumbs.replaceChildren(...breadcrumbs(v, path).flatMap((c, i) => [i ? el('span', { class: 'sep', text: ' › ' }) : null, el('span', { class: 'crumb', text: c.name })]).filter(Boolean));
    // what it ran last (when it just stepped) and what it runs next
    const next = el('div', { class: 'next' }, el('em', { text: R.actors[v.ix].outcome !== 'running' && frame === nFrames - 1 ? 'ended at: ' : 'next: ' }), kernelLine(v, path));
    if (stepped) v.kernel.replaceChildren(el('div', { class: 'ran' }, el('em', { text: `ran (step ${frame - 1}): ` }), kernelLine(v, move[1])), next);
    else v.kernel.replaceChildren(next);
    v.caption.textContent = stepped ? `stepped${move[3] ? ' (injected failure)' : ''}` : '';
    const locks = heldAt[v.ix][frame];
    v.locks.textContent = locks.length ? `holds ${locks.join(', ')}` : 'holds no locks';
    if (v.follow()) follow(v, path);
  });
}

function showPosition() {
  const pos = $('position');
  const move = R.moves[frame];
  pos.dataset.frame = String(frame);
  const v = R.violations[0];
  const at = v && v.frame === frame;
  pos.classList.toggle('at-violation', !!at);
  pos.textContent = frame === 0
    ? `start: after setup, before step 0 (frame 0 of ${nFrames - 1})`
    : `after step ${frame - 1}: ${R.actors[move[0]].id} ${move[1]} → ${move[2]}${move[3] ? ' (injected failure)' : ''}  (frame ${frame} of ${nFrames - 1})${at ? `  ⚠ ${v.invariant}: ${v.message}` : ''}`;
  $('slider').value = String(frame);
  $('jump-input').placeholder = frame ? String(frame - 1) : '';
  $('play').textContent = timer ? '⏸ pause' : '▶ play';
}

function render(prev = frame) {
  const cells = cellsAt(frame);
  const changed = new Set(frame > 0 ? Object.keys(R.cells[frame]) : []);
  const v = R.violations[0];
  showCells(cells, changed, v && v.frame === frame ? v : null);
  showObjects(cells, objectViews);
  showActors();
  showLanes(frame);
  showEvents(frame, prev);
  showPosition();
}

function show(f) {
  const prev = frame;
  frame = Math.max(0, Math.min(nFrames - 1, f));
  render(prev);
  if (frame === nFrames - 1) stop();
}

function stop() {
  if (timer) clearInterval(timer);
  timer = null;
  $('play').textContent = '▶ play';
}

function play() {
  if (timer) return stop();
  if (frame >= nFrames - 1) show(0);
  timer = setInterval(() => show(frame + 1), Number($('speed').value));
  $('play').textContent = '⏸ pause';
}

function jump() {
  const n = Number($('jump-input').value);
  if ($('jump-input').value !== '' && Number.isInteger(n)) show(n + 1);
}

function bindControls() {
  const slider = $('slider');
  slider.max = String(nFrames - 1);
  slider.addEventListener('input', () => show(Number(slider.value)));
  $('step-first').addEventListener('click', () => show(0));
  $('step-back').addEventListener('click', () => show(frame - 1));
  $('step-fwd').addEventListener('click', () => show(frame + 1));
  $('step-last').addEventListener('click', () => show(nFrames - 1));
  $('play').addEventListener('click', play);
  $('speed').addEventListener('change', () => { if (timer) { stop(); play(); } });
  $('jump-go').addEventListener('click', jump);
  $('jump-input').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') jump(); });
  document.addEventListener('keydown', (ev) => {
    if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement) return;
    const keys = {
      ArrowRight: () => show(frame + 1), ArrowLeft: () => show(frame - 1),
      Home: () => show(0), End: () => show(nFrames - 1), ' ': play,
      g: () => $('jump-input').focus(),
      v: () => R.violations[0] && show(R.violations[0].frame),
    };
    const k = keys[ev.key];
    if (!k) return;
    ev.preventDefault();
    k();
  });
}

async function main() {
  P = await (await fetch('/api/run')).json();
  R = P.run;
  nFrames = R.states.length;
  document.body.classList.toggle('counterexample', R.violations.length > 0);
  buildFrames();
  initMemory(P, () => render());
  renderHeader();
  renderLegend();
  renderExtents();
  renderObjectCharts();
  renderActorCharts();
  const causes = renderLanes({ R, line, show });
  renderViolation(causes);
  renderEvents({ R, line, show });
  bindControls();
  fitLanes();
  addEventListener('resize', fitLanes);
  const step = new URLSearchParams(location.search).get('step');
  frame = -1;
  show(step !== null && /^\d+$/.test(step) ? Number(step) + 1 : 0);
  document.body.dataset.ready = '1';
}

main().catch((e) => {
  document.body.dataset.ready = 'error';
  document.body.prepend(el('pre', { class: 'error', text: `thpsim inspect: ${e.stack ?? e}` }));
});
