// The inspector page: fetches the recorded run (/api/run) and draws frame n of it —
// every actor's statechart with its state highlighted, the memory map, the kernel
// objects' charts and the event timeline. Frame n is the model after n steps; step
// numbers (as in the trace and in violation reports) count from 0, so frame n shows the
// state right after step n-1. A plain ES module: no framework, no bundler, no network
// beyond this server.

const SVGNS = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
/** Full cell maps every CHECK frames; frame n = nearest checkpoint + the deltas after it. */
const CHECK = 64;

let P; // the payload: { run, charts, objects, decode, pg, invariants }
let R; // P.run: the recording (src/inspect/record.ts)
let nFrames = 0;
let frame = -1;
let timer = null;
const checkpoints = [];
/** heldAt[a][f]: the locks actor a holds at frame f. */
const heldAt = [];
const actorViews = [];
const objectViews = {};
const cellEls = new Map();
let rows = [];
let rowFrames = [];
let selectedPage = null;
let selectedPte = null;

function el(tag, attrs = {}, ...children) {
  const svg = ['svg', 'g', 'rect', 'path', 'text', 'title', 'defs', 'marker', 'line', 'tspan'].includes(tag);
  const e = svg ? document.createElementNS(SVGNS, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

const hex = (n) => `0x${n.toString(16)}`;

// ---- decoding ---------------------------------------------------------------------------

function decode(dec, st) {
  const out = {};
  dec.regions.forEach((r, i) => {
    const names = dec.states[i];
    out[r] = names[Math.floor(st / dec.radix[i]) % names.length];
  });
  return out;
}

function pgFlags(fl) {
  return Object.entries(P.pg).filter(([, bit]) => fl & bit).map(([name]) => name);
}

/** The classes, badge letters, label and tooltip of one memory cell. */
function describeCell(c, where) {
  if (c.t === 'absent') return { cls: ['absent'], badges: '', label: '', title: `${where}: not there at this step (mm not forked yet, VMA unmapped, or the mm exited)` };
  if (c.t === 'hole') return { cls: ['hole'], badges: '', label: '', title: `${where}: hole — no page; a read returns zeroes` };
  if (c.t === 'swap') return { cls: ['swapped'], badges: 'S', label: `s${c.off}`, title: `${where}: swap entry (swap offset ${c.off}) — the page is in swap` };
  if (c.t === 'pte_none') {
    return { cls: ['none'], badges: '', label: '', title: `${where}: pte_none${c.pmd === 'none' ? ' (pmd_none: no page table)' : ' (in a pte table)'}` };
  }
  const s = decode(P.decode.page, c.hst ?? c.st);
  const own = decode(P.decode.page, c.st);
  const cls = ['page'];
  let badges = '';
  const allocated = s.alloc === 'allocated';
  if (!allocated) cls.push('freed');
  if (s.lock === 'locked') { cls.push('locked'); badges += 'L'; }
  if (s.ref === 'frozen') { cls.push('frozen'); badges += 'F'; }
  if (allocated && s.lru === 'isolated') { cls.push('isolated'); badges += 'I'; }
  if (s.uptodate === 'uptodate') cls.push('uptodate');
  if (s.dirty === 'dirty') { cls.push('dirty'); badges += 'D'; }
  if (own.mapped === 'mapped') cls.push('mapped');
  const flags = pgFlags(c.fl);
  if (c.order > 0) { cls.push('compound'); badges += 'C'; }
  if (flags.includes('team')) { cls.push('team'); badges += 'T'; }
  if (c.t === 'pte') {
    if (c.pmd === 'huge' || c.pmd === 'huge_zero') { cls.push('huge'); badges += 'H'; }
    if (c.pmd === 'huge_zero') cls.push('huge-zero');
  }
  if (c.data === -1) cls.push('garbage');
  const pgNames = [
    s.lock === 'locked' ? 'PG_locked' : '',
    s.lru === 'on_lru' ? 'PG_lru' : '',
    s.uptodate === 'uptodate' ? 'PG_uptodate' : '',
    s.dirty === 'dirty' ? 'PG_dirty' : '',
    ...flags.map((f) => `PG_${f}`),
  ].filter(Boolean);
  const lines = [
    `${where}: pfn ${hex(c.pfn)}${c.order > 0 ? (c.head === c.pfn ? ` — compound head, order ${c.order}` : ` — subpage ${c.pfn - c.head} of compound ${hex(c.head)} (order ${c.order})`) : ''}`,
    c.t === 'pte' ? `mapped by a ${c.pmd === 'pte_table' ? 'pte' : c.pmd === 'huge_zero' ? 'huge zero pmd' : 'huge pmd'}${c.w ? ' (writable)' : ' (read-only)'}` : '',
    `refcount ${c.ref}${s.ref === 'frozen' ? ' (frozen by page_ref_freeze)' : ''}   mapcount ${c.map}`,
    `flags: ${pgNames.join(' ') || '(none)'}`,
    `page chart: ${Object.values(s).join(' ')}${c.hst !== undefined ? ' (the head\'s)' : ''}`,
    c.tst !== undefined ? `team head chart: ${Object.values(decode(P.decode.team_head, c.tst)).join(' ')}${c.th !== undefined ? ` (its team head ${hex(c.th)})` : ''}` : '',
    !allocated ? 'FREED: this entry points to a page back in the allocator' : '',
    s.lru === 'isolated' && allocated ? 'isolated: not on an LRU list (PageLRU clear)' : '',
    c.locker ? `PG_locked held by ${c.locker}` : '',
    `data: ${c.data === 0 ? 'zeroes' : c.data === -1 ? 'uninitialised garbage' : `write #${c.data}`}`,
  ].filter(Boolean);
  return { cls, badges, label: hex(c.pfn), title: lines.join('\n') };
}

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

// ---- charts -----------------------------------------------------------------------------

function drawChart(L, testid) {
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

function setViewBox(v, vb) {
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

function follow(v, leaf) {
  const b = focusBox(v, leaf);
  const pad = 24;
  const w = Math.max(b.w + 2 * pad, 360);
  const h = Math.max(b.h + 2 * pad, 200);
  setViewBox(v, { x: b.x + b.w / 2 - w / 2, y: b.y + b.h / 2 - h / 2, w, h });
}

/** Marks the active path (leaf and its ancestors) and the transition just taken. */
function highlight(v, paths, move) {
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

// ---- rendering --------------------------------------------------------------------------

function renderHeader() {
  $('scenario-name').textContent = R.scenario;
  const verdict = $('verdict');
  verdict.textContent = R.verdict;
  verdict.className = R.verdict === 'ok' ? 'ok' : 'bad';
  $('scenario-meta').textContent = `seed ${R.seed} · HPAGE_PMD_NR=${R.hpagePmdNr} · ${R.steps} steps · ${R.actors.map((a) => `${a.id} (${a.kind}): ${a.outcome}`).join(', ')}`;
  $('scenario-description').textContent = R.description;
  document.title = `thpsim inspect: ${R.scenario}`;
}

const LEGEND = [
  ['page uptodate', 'page uptodate', 'PG_uptodate'],
  ['page', 'page not uptodate', '!PG_uptodate'],
  ['page uptodate locked', 'locked', 'PG_locked (red frame, L)'],
  ['page uptodate frozen', 'frozen', 'refcount frozen to 0 by page_ref_freeze (blue hatch, F)'],
  ['page uptodate isolated', 'isolated', 'off the LRU: isolate_lru_page, or not added yet (grey bar, I)'],
  ['page uptodate dirty', 'dirty', 'PG_dirty (D)'],
  ['page uptodate compound', 'compound', 'subpage of a compound (huge) page (orange top, C)'],
  ['page uptodate team', 'team', 'PageTeam: a huge tmpfs team page (teal top, T); the tooltip names its team head\'s state'],
  ['page uptodate huge', 'pmd-mapped', 'mapped by a huge pmd (navy bottom, H)'],
  ['swapped', 'swapped', 'swap entry in the page cache (S)'],
  ['hole', 'hole', 'no page: reads return zeroes'],
  ['none', 'pte_none', 'no pte (or no page table)'],
  ['page freed', 'freed', 'points to a page back in the allocator'],
  ['page changed', 'changed', 'changed by this step'],
  ['page culprit', 'violation', 'at the violating step: named in the violation message'],
  ['absent', 'absent', 'not there at this step: an mm not forked yet, a VMA unmapped or gone with exit_mmap'],
];

function renderLegend() {
  const box = $('legend');
  for (const [cls, name, what] of LEGEND) {
    box.append(el('span', { class: 'legend-item', title: what }, el('span', { class: `cell swatch ${cls}` }), ` ${name}`));
  }
}

function cellEl(key, where, testid) {
  const d = el('div', { class: 'cell', 'data-key': key, 'data-testid': testid, 'data-where': where },
    el('span', { class: 'label' }), el('span', { class: 'badges' }));
  d.addEventListener('click', () => {
    if (key.startsWith('m')) selectedPte = key;
    selectedPage = key;
    render();
  });
  cellEls.set(key, d);
  return d;
}

function renderExtents() {
  const box = $('extents');
  const nr = R.hpagePmdNr;
  // one group per HPAGE_PMD_NR-aligned extent: what a huge page would cover
  const group = (grid, label) => {
    const g = el('div', { class: 'hp' }, el('span', { class: 'extent-start', text: label }));
    grid.append(g);
    return g;
  };
  for (const f of R.files) {
    const grid = el('div', { class: 'grid' });
    let g;
    for (let i = 0; i < f.slots; i++) {
      if (i % nr === 0 || !g) g = group(grid, `${i}`);
      g.append(cellEl(`${f.key}:${i}`, `${f.name}[${i}]`, `cell-f-${f.name}-${i}`));
    }
    box.append(el('div', { class: 'extent', 'data-testid': `file-${f.name}` },
      el('h3', { text: `file ${f.name}${f.shmem ? ' (shmem)' : ''} — page cache, ${f.slots} slots` }), grid));
  }
  for (const m of R.mms) {
    const wrap = el('div', { class: 'extent', 'data-testid': `mm-${m.name}` }, el('h3', { class: 'mm-title', 'data-key': `mm${m.key.slice(1)}`, text: `mm ${m.name} — page tables` }));
    for (const v of m.vmas) {
      const grid = el('div', { class: 'grid' });
      let g;
      for (let vpn = v.start; vpn < v.end; vpn++) {
        if (vpn % nr === 0 || vpn === v.start) g = group(grid, hex(vpn * 4096));
        const file = v.file ? ` (${v.file}[${v.pgoff + vpn - v.start}])` : '';
        g.append(cellEl(`${m.key}:${vpn}`, `${m.name}:${hex(vpn * 4096)}${file}`, `cell-m-${m.name}-${vpn}`));
      }
      wrap.append(el('div', { class: 'vma', text: `VMA ${hex(v.start * 4096)}–${hex(v.end * 4096)}${v.file ? ` → ${v.file} at page ${v.pgoff}` : ' (anonymous)'}` }), grid);
    }
    box.append(wrap);
  }
  const first = [...cellEls.keys()];
  selectedPage = first.find((k) => k.startsWith('f')) ?? first[0] ?? null;
  selectedPte = first.find((k) => k.startsWith('m')) ?? null;
}

function chartCard(title, testid, L, extra) {
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
    setViewBox(v, { x: 0, y: 0, w: L.width, h: L.height });
  });
  followBox.addEventListener('change', () => render());
  return { v, card };
}

function renderObjectCharts() {
  const box = $('object-charts');
  for (const [name, L] of Object.entries(P.objects)) {
    const { v, card } = chartCard(L.title, `chart-${name}`, L);
    card.classList.add('object');
    objectViews[name] = v;
    box.append(card);
  }
}

function renderActorCharts() {
  const box = $('actor-charts');
  R.actors.forEach((a, ix) => {
    const state = el('code', { class: 'state-path', 'data-testid': `state-${a.id}` });
    const locks = el('div', { class: 'locks', 'data-testid': `locks-${a.id}` });
    const { v, card } = chartCard(`${a.id} (${a.kind})`, `chart-${a.id}`, P.charts[a.chart], [el('div', { class: 'state-line' }, state), locks]);
    v.state = state;
    v.locks = locks;
    v.ix = ix;
    actorViews.push(v);
    box.append(card);
  });
}

function renderTimeline() {
  const filters = $('filters');
  const names = R.actors.map((a) => a.id);
  const tl = $('timeline');
  const frag = document.createDocumentFragment();
  rows = R.events.map(([f, a, text]) => {
    const row = el('div', { class: `ev${text.startsWith('thpsim_violation') ? ' violation' : ''}${text.startsWith('thpsim_step') ? ' step' : ''}`, 'data-frame': f, 'data-actor': a },
      el('span', { class: 'st', text: f === 0 ? 'setup' : String(f - 1) }),
      el('span', { class: 'who', text: a >= 0 ? names[a] : '-' }),
      el('span', { class: 'txt', text }));
    row.addEventListener('click', () => show(f));
    frag.append(row);
    return row;
  });
  rowFrames = R.events.map((e) => e[0]);
  tl.append(frag);
  const who = [...names.map((n, i) => [n, i]), ['model', -1]];
  for (const [n, i] of who) {
    const cb = el('input', { type: 'checkbox', checked: true, id: `filter-${n}`, 'data-testid': `filter-${n}` });
    cb.addEventListener('change', () => {
      rows.forEach((r, j) => { if (R.events[j][1] === i) r.hidden = !cb.checked; });
    });
    filters.append(el('label', {}, cb, ` ${n}`));
  }
}

function renderViolation() {
  const box = $('violation');
  const markers = $('markers');
  const v = R.violations[0];
  if (R.divergence) {
    box.hidden = false;
    box.append(el('p', { class: 'divergence', text: `The replay diverged: ${R.divergence}` }));
  }
  if (!v) return;
  box.hidden = false;
  const go = el('button', { id: 'goto-violation', 'data-testid': 'goto-violation', text: `show step ${v.step} (v)` });
  go.addEventListener('click', () => show(v.frame));
  box.append(
    el('h2', {}, el('span', { class: 'tag', text: 'counterexample' }), ` ${v.invariant}`),
    el('p', { class: 'message', 'data-testid': 'violation-message', text: v.message }),
    el('p', { text: `At step ${v.step}, ${v.actor === '-' ? 'with no actor stepping' : `while ${v.actor} stepped from ${v.state || 'its state'}`}. ${R.violations.length > 1 ? `(${R.violations.length - 1} more violation(s) at the same step.)` : ''}` }),
    el('p', { class: 'invariant' }, el('em', { text: 'The invariant: ' }), P.invariants[v.invariant] ?? 'see docs/scenarios.md'),
    go,
  );
  const pos = nFrames > 1 ? (v.frame / (nFrames - 1)) * 100 : 0;
  markers.append(el('span', { id: 'violation-marker', 'data-testid': 'violation-marker', 'data-frame': v.frame, title: `${v.invariant} at step ${v.step}`, style: `left: ${pos}%` }));
}

// ---- showing a frame ----------------------------------------------------------------------

/**
 * Whether the violation's message names this cell: its file offset (f[2]), its address
 * (m1:0x2000) or its page (page 0x6, pfn=0x6).
 */
function namedBy(message, where, c) {
  const token = (t) => {
    const i = message.indexOf(t);
    return i >= 0 && !/[0-9a-fx\]]/.test(message[i + t.length] ?? '');
  };
  if (token(where.replace(/ .*/, ''))) return true;
  const m = /\(([^)]*)\)/.exec(where);
  if (m && token(m[1])) return true;
  if (c.pfn === undefined) return false;
  return [...message.matchAll(/(?:page|pfn)[ =](0x[0-9a-f]+)/g)].some((x) => Number(x[1]) === c.pfn);
}

function showCells(cells, changed) {
  const v = R.violations[0];
  const culprit = v && v.frame === frame ? v.message : null;
  for (const [key, d] of cellEls) {
    const c = cells.get(key) ?? { t: 'absent' };
    const info = describeCell(c, d.dataset.where);
    const named = culprit !== null && c.t !== 'absent' && namedBy(culprit, d.dataset.where, c);
    if (named) info.title += `\nnamed by the violation: ${v.invariant}`;
    d.className = ['cell', ...info.cls, changed.has(key) ? 'changed' : '', named ? 'culprit' : '', key === selectedPage ? 'selected' : '', key === selectedPte ? 'selected-pte' : ''].filter(Boolean).join(' ');
    d.title = info.title;
    d.firstChild.textContent = info.label;
    d.lastChild.textContent = info.badges;
  }
}

function showObjects(cells) {
  const page = selectedPage && cells.get(selectedPage);
  const pv = objectViews.page;
  if (page && (page.t === 'page' || page.t === 'pte')) {
    const s = decode(P.decode.page, page.hst ?? page.st);
    highlight(pv, Object.entries(s).map(([r, st]) => `${r}.${st}`));
    pv.caption.textContent = `pfn ${hex(page.pfn)}${page.hst !== undefined ? ` (its head ${hex(page.head)})` : ''} — ${cellEls.get(selectedPage).dataset.where}`;
  } else {
    highlight(pv, []);
    pv.caption.textContent = selectedPage ? `${cellEls.get(selectedPage).dataset.where}: no page` : '';
  }
  const mv = objectViews.pmd;
  const pte = selectedPte && cells.get(selectedPte);
  if (pte && pte.t !== 'absent') {
    highlight(mv, [`entry.${pte.pmd}`]);
    mv.caption.textContent = `${cellEls.get(selectedPte).dataset.where.replace(/ .*/, '')}'s pmd`;
  } else highlight(mv, []);
  const sv = objectViews.mm_struct;
  const mmKey = selectedPte ? `mm${selectedPte.slice(1, selectedPte.indexOf(':'))}` : R.mms.length ? `mm${R.mms[0].key.slice(1)}` : null;
  const mm = mmKey && cells.get(mmKey);
  if (mm && mm.t === 'mm') {
    highlight(sv, Object.entries(decode(P.decode.mm_struct, mm.st)).map(([r, st]) => `${r}.${st}`));
    sv.caption.textContent = R.mms.find((m) => `mm${m.key.slice(1)}` === mmKey)?.name ?? '';
  } else highlight(sv, []);
  const tv = objectViews.team_head;
  if (page && page.tst !== undefined) {
    highlight(tv, Object.entries(decode(P.decode.team_head, page.tst)).map(([r, st]) => `${r}.${st}`));
    tv.caption.textContent = `team head ${hex(page.th ?? page.pfn)}`;
  } else {
    highlight(tv, []);
    tv.caption.textContent = page && (page.t === 'page' || page.t === 'pte') ? `pfn ${hex(page.pfn)}: no team` : '';
  }
  for (const v of Object.values(objectViews)) if (v.follow()) setViewBox(v, { x: 0, y: 0, w: v.L.width, h: v.L.height });
}

function showActors() {
  const move = R.moves[frame];
  actorViews.forEach((v) => {
    const path = R.paths[v.ix][R.states[frame][v.ix]];
    highlight(v, [path], move && move[0] === v.ix ? [move[1], move[2]] : null);
    v.state.textContent = path;
    v.state.dataset.path = path;
    v.caption.textContent = move && move[0] === v.ix ? `stepped${move[3] ? ' (injected failure)' : ''}` : '';
    const locks = heldAt[v.ix][frame];
    v.locks.textContent = locks.length ? `holds ${locks.join(', ')}` : 'holds no locks';
    if (v.follow()) follow(v, path);
  });
}

function lowerBound(f) {
  let lo = 0, hi = rowFrames.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rowFrames[mid] < f) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function showTimeline(prev) {
  const from = prev < 0 ? 0 : Math.min(prev, frame);
  const lo = prev < 0 ? 0 : lowerBound(from);
  const hi = prev < 0 ? rows.length : lowerBound(Math.max(prev, frame) + 1);
  for (let i = lo; i < hi; i++) {
    rows[i].classList.toggle('future', rowFrames[i] > frame);
    rows[i].classList.toggle('now', rowFrames[i] === frame);
  }
  // the current step's events in the middle of the timeline (scrollIntoView would scroll the page too)
  const i = Math.min(lowerBound(frame), rows.length - 1);
  const tl = $('timeline');
  if (i >= 0 && rows[i].offsetParent) tl.scrollTop = rows[i].offsetTop - tl.offsetTop - tl.clientHeight / 2;
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
  showCells(cells, changed);
  showObjects(cells);
  showActors();
  showTimeline(prev);
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
  buildFrames();
  renderHeader();
  renderLegend();
  renderViolation();
  renderExtents();
  renderObjectCharts();
  renderActorCharts();
  renderTimeline();
  bindControls();
  const step = new URLSearchParams(location.search).get('step');
  frame = -1;
  show(step !== null && /^\d+$/.test(step) ? Number(step) + 1 : 0);
  document.body.dataset.ready = '1';
}

main().catch((e) => {
  document.body.dataset.ready = 'error';
  document.body.prepend(el('pre', { class: 'error', text: `thpsim inspect: ${e.stack ?? e}` }));
});
