// The interleaving at a glance: one lane per actor that took a step, each step a row in
// its actor's lane with the kernel line it ran; a row where the schedule switched actors
// says so (and whether the actor before was preempted or could not go on); the steps the
// violation rests on (src/inspect/causes.ts) are marked with what they did, the violating
// step last. Long stretches of one actor with nothing marked fold into one row, opened
// by a click. Clicking a step shows the model right after it.

import { $, el } from './util.js';

/** Each step's row; a folded step's row is not in the page until its fold is opened. */
const rowsByStep = new Map();
let current = null;

/** Runs of one actor's consecutive steps: [actor, first step, last step]. */
function runsOf(moves) {
  const runs = [];
  for (let f = 1; f < moves.length; f++) {
    const a = moves[f][0];
    const last = runs[runs.length - 1];
    if (last && last[0] === a) last[2] = f - 1;
    else runs.push([a, f - 1, f - 1]);
  }
  return runs;
}

/**
 * ctx: { R, line(actorIx, statePath) → kernel line, show(frame) }.
 * Returns the steps marked as causes (for the slider's markers).
 */
export function renderLanes(ctx) {
  const { R, line, show } = ctx;
  const box = $('lanes');
  const causes = new Map();
  for (const c of R.explanation?.causes ?? []) {
    if (!causes.has(c.step)) causes.set(c.step, []);
    causes.get(c.step).push(c);
  }
  const ran = [...new Set(R.moves.slice(1).map((m) => m[0]))].sort((a, b) => a - b);
  const col = new Map(ran.map((a, i) => [a, i]));
  const template = `3.4em repeat(${ran.length}, minmax(0, 1fr))`;
  box.style.setProperty('--lanes', template);
  box.append(el('div', { class: 'lane-row lane-heads' }, el('span', { class: 'lane-step', text: 'step' }),
    ...ran.map((a) => el('span', { class: 'lane-head', 'data-testid': `lane-head-${R.actors[a].id}`, text: `${R.actors[a].id} (${R.actors[a].kind})` }))));
  const idle = R.actors.filter((_, a) => !col.has(a)).map((a) => a.id);
  if (idle.length) box.append(el('p', { class: 'lane-note', text: `took no step: ${idle.join(', ')}` }));

  const cells = (a, ...content) => ran.map((b) => (b === a ? el('span', { class: 'lane-cell' }, ...content) : el('span', { class: 'lane-empty' })));
  const stepRow = (step, switched) => {
    const [a, from, , fail, preempted] = R.moves[step + 1];
    const marks = causes.get(step) ?? [];
    const violation = marks.some((c) => c.violation);
    const text = el('span', { class: 'lane-line', text: `${line(a, from)}${fail ? '  (injected failure)' : ''}` });
    const why = marks.map((c) => el('span', { class: `lane-cause${c.violation ? ' violation' : ''}`, 'data-testid': 'lane-cause', text: c.what }));
    const sw = switched !== null
      ? el('span', { class: 'lane-switch', text: preempted ? `⇄ ${R.actors[switched].id} preempted` : `⇄ ${R.actors[switched].id} could not go on` })
      : null;
    const row = el('div', {
      class: `lane-row step${marks.length ? ' cause' : ''}${violation ? ' violation' : ''}${switched !== null ? ' switched' : ''}`,
      'data-testid': 'lane-row', 'data-step': step, 'data-actor': R.actors[a].id,
      'data-switch': switched === null ? undefined : preempted ? 'preempted' : 'switch',
      'data-cause': marks.length ? '1' : undefined,
    }, el('span', { class: 'lane-step', text: String(step) }), ...cells(a, sw, text, ...why));
    row.addEventListener('click', () => show(step + 1));
    rowsByStep.set(step, row);
    return row;
  };

  const frag = document.createDocumentFragment();
  let prev = null;
  for (const [a, s0, s1] of runsOf(R.moves)) {
    const keep = (s) => s === s0 || s === s1 || causes.has(s) || s1 - s0 < 4;
    for (let s = s0; s <= s1; s++) {
      if (keep(s)) {
        frag.append(stepRow(s, s === s0 && prev !== null ? prev : null));
        continue;
      }
      let e = s;
      while (e + 1 <= s1 && !keep(e + 1)) e++;
      const hidden = [];
      for (let x = s; x <= e; x++) hidden.push(stepRow(x, null));
      const fold = el('div', { class: 'lane-row fold', 'data-testid': 'lane-fold', 'data-steps': `${s}-${e}` },
        el('span', { class: 'lane-step', text: `${s}–${e}` }),
        ...cells(a, el('span', { class: 'lane-line', text: `… ${e - s + 1} more steps (click to open)` })));
      fold.addEventListener('click', () => {
        fold.replaceWith(...hidden);
        if (current !== null) mark(current);
      });
      frag.append(fold);
      s = e;
    }
    prev = a;
  }
  box.append(frag);
  return [...causes.values()].flat();
}

/** Marks the row of the step that led to `frame` (none at frame 0) and keeps it in view. */
function mark(frame) {
  for (const r of $('lanes').querySelectorAll('.lane-row.now')) r.classList.remove('now');
  const row = rowsByStep.get(frame - 1);
  if (!row) return;
  const now = row.isConnected ? row : [...$('lanes').querySelectorAll('.fold')].find((f) => {
    const [a, b] = f.dataset.steps.split('-').map(Number);
    return a <= frame - 1 && frame - 1 <= b;
  });
  if (!now) return;
  now.classList.add('now');
  const box = $('lanes');
  if (now.offsetTop < box.scrollTop + 24 || now.offsetTop + now.offsetHeight > box.scrollTop + box.clientHeight) {
    box.scrollTop = now.offsetTop - box.clientHeight / 2;
  }
}

export function showLanes(frame) {
  current = frame;
  mark(frame);
}
