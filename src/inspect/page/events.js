// The event list: the run's bus events as ftrace-like lines, grouped under the step that
// published them — the step's kernel line first, then what it changed — and the current
// step's group again beside the memory map. Lines wrap: nothing is cut mid-path.

import { $, el } from './util.js';

let R;
let line;
let show;
/** Every row (group heads and their events) in frame order, and each row's frame. */
let rows = [];
let rowFrames = [];

const STEP = 'thpsim_step';

/** The head of frame f's group: the step that led to it, or the setup. */
function headText(f) {
  if (f === 0) return { step: 'setup', who: '-', text: 'before step 0: the scenario set up' };
  const [a, from, to, fail] = R.moves[f];
  return { step: String(f - 1), who: R.actors[a].id, text: `${line(a, from)}${fail ? '  (injected failure)' : ''}  → ${to.slice(to.lastIndexOf('.') + 1)}` };
}

/** ctx: { R, line(actorIx, statePath), show(frame) } */
export function renderEvents(ctx) {
  ({ R, line, show } = ctx);
  const names = R.actors.map((a) => a.id);
  const byFrame = new Map();
  for (const [f, a, text] of R.events) {
    if (text.startsWith(STEP)) continue;
    if (!byFrame.has(f)) byFrame.set(f, []);
    byFrame.get(f).push([a, text]);
  }
  const frag = document.createDocumentFragment();
  rows = [];
  rowFrames = [];
  const add = (row, f) => {
    row.addEventListener('click', () => show(f));
    frag.append(row);
    rows.push(row);
    rowFrames.push(f);
  };
  for (let f = 0; f < R.moves.length; f++) {
    const evs = byFrame.get(f) ?? [];
    if (f === 0 && !evs.length) continue;
    const h = headText(f);
    const a = f === 0 ? -1 : R.moves[f][0];
    add(el('div', { class: 'ev step-head', 'data-frame': f, 'data-actor': a },
      el('span', { class: 'st', text: h.step }), el('span', { class: 'who', text: h.who }), el('span', { class: 'txt', text: h.text })), f);
    for (const [ea, text] of evs) {
      add(el('div', { class: `ev${text.startsWith('thpsim_violation') ? ' violation' : ''}`, 'data-frame': f, 'data-actor': ea },
        el('span', { class: 'st' }), el('span', { class: 'who', text: ea >= 0 ? names[ea] : '-' }), el('span', { class: 'txt', text })), f);
    }
  }
  $('timeline').append(frag);
  const filters = $('filters');
  for (const [n, i] of [...names.map((x, j) => [x, j]), ['model', -1]]) {
    const cb = el('input', { type: 'checkbox', checked: true, id: `filter-${n}`, 'data-testid': `filter-${n}` });
    cb.addEventListener('change', () => {
      for (const r of rows) if (Number(r.dataset.actor) === i) r.hidden = !cb.checked;
    });
    filters.append(el('label', {}, cb, ` ${n}`));
  }
}

function lowerBound(f) {
  let lo = 0, hi = rowFrames.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rowFrames[mid] < f) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Marks frame's group current (`prev`: the frame shown before, -1 at first) and shows it beside the map. */
export function showEvents(frame, prev) {
  const lo = prev < 0 ? 0 : lowerBound(Math.min(prev, frame));
  const hi = prev < 0 ? rows.length : lowerBound(Math.max(prev, frame) + 1);
  for (let i = lo; i < hi; i++) {
    rows[i].classList.toggle('future', rowFrames[i] > frame);
    rows[i].classList.toggle('now', rowFrames[i] === frame);
  }
  // the current step's events in the middle of the list (scrollIntoView would scroll the page too)
  const i = Math.min(lowerBound(frame), rows.length - 1);
  const tl = $('timeline');
  if (i >= 0 && rows[i].offsetParent) tl.scrollTop = rows[i].offsetTop - tl.offsetTop - tl.clientHeight / 2;
  const now = $('now-events');
  now.replaceChildren();
  const h = headText(frame);
  now.append(el('div', { class: 'now-head' }, el('strong', { text: frame === 0 ? 'setup' : `step ${h.step} · ${h.who}` }), ' ', el('span', { class: 'now-line', text: h.text })));
  const mine = [];
  for (let j = lowerBound(frame); j < rows.length && rowFrames[j] === frame; j++) if (!rows[j].classList.contains('step-head')) mine.push(rows[j]);
  if (!mine.length) now.append(el('div', { class: 'now-none', text: frame === 0 ? 'no setup event' : 'no bus event: the step moved only its own program counter and locals' }));
  for (const r of mine) now.append(el('div', { class: r.className.replace(/\b(now|future)\b/g, '') }, el('span', { class: 'txt', text: r.lastChild.textContent })));
}
