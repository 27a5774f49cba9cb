// Statechart drawing: the layouts the server computed (src/inspect/layout.ts) as SVG, pan
// and zoom, the active state and the transition just taken marked, and a task chart shown
// one kernel function at a time (the function the actor is in; its callers as breadcrumbs).

import { el } from './util.js';

export function drawChart(L, testid) {
  const svg = el('svg', { class: 'chart', 'data-testid': testid, viewBox: `0 0 ${L.width} ${L.height}`, preserveAspectRatio: 'xMidYMid meet' });
  const mk = `arrow-${testid}`;
  svg.append(el('defs', {}, el('marker', { id: mk, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
    el('path', { d: 'M0,0 L10,5 L0,10 z' }))));
  const nodes = new Map();
  for (const n of L.nodes) {
    const g = el('g', { class: `state ${n.kind}`, 'data-path': n.path });
    g.append(el('rect', { x: n.x, y: n.y, width: n.w, height: n.h, rx: n.kind === 'region' ? 2 : 7 }));
    if (n.kind === 'final') g.append(el('rect', { class: 'inner', x: n.x + 3, y: n.y + 3, width: n.w - 6, height: n.h - 6, rx: 5 }));
    if (n.kind === 'compound' || n.kind === 'region') g.append(el('text', { class: 'clabel', x: n.x + 6, y: n.y + 15, text: n.name }));
    else {
      g.append(el('text', { x: n.x + n.w / 2, y: n.y + 15, 'text-anchor': 'middle', text: n.name }));
      (n.internal ?? []).forEach((t, i) => g.append(el('text', { class: 'internal', x: n.x + n.w / 2, y: n.y + 28 + i * 11, 'text-anchor': 'middle', text: t })));
    }
    g.append(el('title', { text: [n.path, n.title].filter(Boolean).join('\n') }));
    svg.append(g);
    nodes.set(n.path, { g, n });
  }
  const edges = [];
  for (const e of L.edges) {
    if (!e.points.length) continue;
    const d = e.points.map(([x, y], i) => `${i ? 'L' : 'M'}${x},${y}`).join(' ');
    const g = el('g', { class: `edge ${e.kind}` }, el('path', { d, 'marker-end': `url(#${mk})` }), el('title', { text: `${e.from} → ${e.to}\n${e.title ?? ''}` }));
    if (e.label) g.append(el('text', { class: 'elabel', x: e.labelX, y: e.labelY + 10, text: e.label }));
    svg.append(g);
    edges.push({ g, e });
  }
  return { svg, nodes, edges, L, vb: { x: 0, y: 0, w: L.width, h: L.height } };
}

export function setViewBox(v, vb) {
  v.vb = vb;
  v.svg.setAttribute('viewBox', `${vb.x} ${vb.y} ${vb.w} ${vb.h}`);
}

/** Drag pans, the wheel zooms around the pointer; either stops following the active state. */
function panZoom(v, viewport, onManual) {
  let drag = null;
  viewport.addEventListener('pointerdown', (ev) => {
    drag = { x: ev.clientX, y: ev.clientY, vb: { ...v.vb } };
    viewport.setPointerCapture(ev.pointerId);
  });
  viewport.addEventListener('pointermove', (ev) => {
    if (!drag) return;
    const s = Math.max(v.vb.w / viewport.clientWidth, v.vb.h / viewport.clientHeight);
    const dx = (ev.clientX - drag.x) * s;
    const dy = (ev.clientY - drag.y) * s;
    if (Math.abs(dx) + Math.abs(dy) > 2) onManual();
    setViewBox(v, { ...drag.vb, x: drag.vb.x - dx, y: drag.vb.y - dy });
  });
  viewport.addEventListener('pointerup', () => (drag = null));
  viewport.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    onManual();
    const r = viewport.getBoundingClientRect();
    const s = Math.max(v.vb.w / r.width, v.vb.h / r.height);
    const cx = v.vb.x + v.vb.w / 2 + (ev.clientX - r.left - r.width / 2) * s;
    const cy = v.vb.y + v.vb.h / 2 + (ev.clientY - r.top - r.height / 2) * s;
    const k = ev.deltaY > 0 ? 1.2 : 1 / 1.2;
    const w = Math.min(Math.max(v.vb.w * k, 60), v.L.width * 1.5 + 200);
    const h = (v.vb.h * w) / v.vb.w;
    setViewBox(v, { x: cx - ((cx - v.vb.x) * w) / v.vb.w, y: cy - ((cy - v.vb.y) * h) / v.vb.h, w, h });
  }, { passive: false });
}

/** The box to follow: the active state's compound parent if it fits, else its neighbourhood. */
function focusBox(v, leaf) {
  const node = v.nodes.get(leaf)?.n;
  if (!node) return { x: 0, y: 0, w: v.L.width, h: v.L.height };
  // no smaller than 4/5 of natural size, so state names stay readable
  const vp = v.svg.parentElement;
  const MAXW = Math.max(vp.clientWidth, 300) * 1.25;
  const MAXH = Math.max(vp.clientHeight, 200) * 1.25;
  const parentPath = leaf.includes('.') ? leaf.slice(0, leaf.lastIndexOf('.')) : null;
  const parent = parentPath && v.nodes.get(parentPath)?.n;
  if (parent && parent.w <= MAXW && parent.h <= MAXH) return { x: parent.x, y: parent.y, w: parent.w, h: parent.h };
  let x0 = node.x, y0 = node.y, x1 = node.x + node.w, y1 = node.y + node.h;
  for (const { e } of v.edges) {
    if (e.from !== leaf && e.to !== leaf) continue;
    const other = v.nodes.get(e.from === leaf ? e.to : e.from)?.n;
    if (!other) continue;
    x0 = Math.min(x0, other.x); y0 = Math.min(y0, other.y);
    x1 = Math.max(x1, other.x + other.w); y1 = Math.max(y1, other.y + other.h);
  }
  const cx = node.x + node.w / 2;
  const cy = node.y + node.h / 2;
  x0 = Math.max(x0, cx - MAXW / 2); x1 = Math.min(x1, cx + MAXW / 2);
  y0 = Math.max(y0, cy - MAXH / 2); y1 = Math.min(y1, cy + MAXH / 2);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** The kernel function a state is a program point of: its parent compound state ('' at the top). */
const functionOf = (leaf) => (leaf.includes('.') ? leaf.slice(0, leaf.lastIndexOf('.')) : '');

/**
 * Only the function `fn` drawn: the rest of a task chart (443 states for a task) is a
 * tangle at any readable scale. null shows everything.
 */
function scope(v, fn) {
  if (v.scope === fn) return;
  v.scope = fn;
  // at the top ('') only the top-level states: what is inside each is another function
  const inside = fn === null ? () => true : fn === '' ? (p) => !p.includes('.') : (p) => within(fn, p);
  for (const { g, n } of v.nodes.values()) g.classList.toggle('outside', !inside(n.path));
  for (const { g, e } of v.edges) g.classList.toggle('outside', !(inside(e.from) && inside(e.to)));
}

/** The caller chain of a state: each enclosing compound state, by the kernel function it models. */
export function breadcrumbs(v, leaf) {
  const parts = leaf.split('.');
  const out = [];
  for (let i = 1; i < parts.length; i++) {
    const path = parts.slice(0, i).join('.');
    const n = v.nodes.get(path)?.n;
    out.push({ path, name: n?.kernel?.replace(/ .*$/, '') ?? parts[i - 1] });
  }
  return out;
}

/** The kernel line a step from this state runs (meta.kernel), or the state's name. */
export const kernelLine = (v, path) => v.nodes.get(path)?.n.kernel ?? path.slice(path.lastIndexOf('.') + 1);

export function follow(v, leaf) {
  if (v.L.kind === 'task') scope(v, functionOf(leaf));
  const b = focusBox(v, leaf);
  const pad = 24;
  const w = Math.max(b.w + 2 * pad, 360);
  const h = Math.max(b.h + 2 * pad, 200);
  setViewBox(v, { x: b.x + b.w / 2 - w / 2, y: b.y + b.h / 2 - h / 2, w, h });
}

/** Marks the active path (leaf and its ancestors) and the transition just taken. */
export function highlight(v, paths, move) {
  for (const p of v.marked ?? []) p.classList.remove('active', 'active-parent', 'was', 'taken');
  const marked = [];
  for (const leaf of paths) {
    const parts = leaf.split('.');
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('.');
      const x = v.nodes.get(p);
      if (!x) continue;
      x.g.classList.add(i === parts.length ? 'active' : 'active-parent');
      marked.push(x.g);
    }
  }
  if (move) {
    const [from, to] = move;
    const was = v.nodes.get(from);
    if (was && from !== to) { was.g.classList.add('was'); marked.push(was.g); }
    for (const g of takenEdges(v, from, to)) { g.classList.add('taken'); marked.push(g); }
  }
  v.marked = marked;
}

const within = (p, path) => path === p || path.startsWith(`${p}.`);

/**
 * The edges one step took from `from` to `to`: a STEP edge out of `from` (or out of an
 * ancestor, as enabledStep looks up the tree), then any always / onDone edges taken in
 * the same step — the shortest such chain, found breadth-first.
 */
function takenEdges(v, from, to) {
  const seen = new Set();
  let level = v.edges.filter(({ e }) => e.kind === 'step' && within(e.from, from)).map((x) => [x]);
  for (let depth = 0; depth < 24 && level.length; depth++) {
    const hit = level.find((chain) => within(chain[chain.length - 1].e.to, to));
    if (hit) return hit.map((x) => x.g);
    const next = [];
    for (const chain of level) {
      const at = chain[chain.length - 1].e.to;
      if (seen.has(at)) continue;
      seen.add(at);
      for (const x of v.edges) {
        if ((x.e.kind === 'always' || x.e.kind === 'onDone') && (within(at, x.e.from) || within(x.e.from, at))) next.push([...chain, x]);
      }
    }
    level = next;
  }
  return [];
}

export function chartCard(title, testid, L, extra, onChange) {
  const v = drawChart(L, testid);
  const viewport = el('div', { class: 'viewport' }, v.svg);
  const followBox = el('input', { type: 'checkbox', checked: true, 'data-testid': `follow-${testid}` });
  const fit = el('button', { class: 'small', text: 'fit' });
  const caption = el('span', { class: 'caption' });
  const head = el('div', { class: 'card-head' }, el('strong', { text: title }), caption,
    el('span', { class: 'tools' }, el('label', {}, followBox, ' follow'), fit));
  const card = el('div', { class: 'card', 'data-testid': `card-${testid}` }, head, ...(extra ?? []), viewport);
  v.caption = caption;
  v.follow = () => followBox.checked;
  panZoom(v, viewport, () => (followBox.checked = false));
  fit.addEventListener('click', () => {
    followBox.checked = false;
    scope(v, null);
    setViewBox(v, { x: 0, y: 0, w: L.width, h: L.height });
  });
  followBox.addEventListener('change', onChange);
  return { v, card };
}

