// The memory map: every page-cache slot and pte of the run's extents as a cell, drawn from
// the recorded cells of a frame; what a cell shows of its struct page is on the cell itself
// (pfn, badges, data), the tooltip only repeats it in full. The object charts follow the
// selected cell.

import { $, el, hex } from './util.js';
import { highlight, setViewBox } from './charts.js';

/** The cells an extent is drawn with at most (src/inspect/record.ts records as many). */
const MAX_CELLS_PER_EXTENT = 4096;

let P;
let R;
const cellEls = new Map();
let selectedPage = null;
let selectedPte = null;
let onSelect = () => {};

export function initMemory(payload, select) {
  P = payload;
  R = payload.run;
  onSelect = select;
}

export function decode(dec, st) {
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

/** What a page holds, as the cell prints it: 0 zeroes, #n the n-th write, ?? uninitialised garbage. */
const dataText = (d) => (d === 0 ? '0' : d === -1 ? '??' : `#${d}`);

/** The classes, badge letters, label, data and tooltip of one memory cell. */
function describeCell(c, where) {
  if (c.t === 'absent') return { cls: ['absent'], badges: '', label: '', data: '', title: `${where}: not there at this step (mm not forked yet, VMA unmapped, or the mm exited)` };
  if (c.t === 'hole') return { cls: ['hole'], badges: '', label: '', data: '', title: `${where}: hole — no page; a read returns zeroes` };
  if (c.t === 'swap') return { cls: ['swapped'], badges: 'S', label: `s${c.off}`, data: '', title: `${where}: swap entry (swap offset ${c.off}) — the page is in swap` };
  if (c.t === 'pte_none') {
    return { cls: ['none'], badges: '', label: '', data: '', title: `${where}: pte_none${c.pmd === 'none' ? ' (pmd_none: no page table)' : ' (in a pte table)'}` };
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
  return { cls, badges, label: hex(c.pfn), data: dataText(c.data), title: lines.join('\n') };
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
  ['page uptodate garbage', 'garbage ??', 'the page holds uninitialised memory (data ??, red); 0: zeroes, #n: the n-th write'],
  ['swapped', 'swapped', 'swap entry in the page cache (S)'],
  ['hole', 'hole', 'no page: reads return zeroes'],
  ['none', 'pte_none', 'no pte (or no page table)'],
  ['page freed', 'freed', 'points to a page back in the allocator'],
  ['page changed', 'changed', 'changed by this step'],
  ['page culprit', 'violation', 'at the violating step: named in the violation message'],
  ['absent', 'absent', 'not there at this step: an mm not forked yet, a VMA unmapped or gone with exit_mmap'],
];

export function renderLegend() {
  const box = $('legend');
  for (const [cls, name, what] of LEGEND) {
    box.append(el('span', { class: 'legend-item', title: what }, el('span', { class: `cell swatch ${cls}` }), ` ${name}`));
  }
  box.append(el('span', { class: 'legend-note', text: 'cell: pfn, data (0 zeroes · #n write n · ?? garbage), badges L F I D C T H S' }));
}

function cellEl(key, where, testid) {
  const d = el('div', { class: 'cell', 'data-key': key, 'data-testid': testid, 'data-where': where },
    el('span', { class: 'label' }), el('span', { class: 'data' }), el('span', { class: 'badges' }));
  d.addEventListener('click', () => {
    if (key.startsWith('m')) selectedPte = key;
    selectedPage = key;
    onSelect();
  });
  cellEls.set(key, d);
  return d;
}

/** The extents of the run; those no actor of it uses and nothing changed are left out, and named. */
export function renderExtents() {
  const box = $('extents');
  const idle = [...R.files.filter((f) => f.idle).map((f) => `file ${f.name}`), ...R.mms.filter((m) => m.idle).map((m) => `mm ${m.name}`)];
  const nr = R.hpagePmdNr;
  // one group per HPAGE_PMD_NR-aligned extent: what a huge page would cover
  const group = (grid, label) => {
    const g = el('div', { class: 'hp' }, el('span', { class: 'extent-start', text: label }));
    grid.append(g);
    return g;
  };
  for (const f of R.files) {
    if (f.idle) continue;
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
    if (m.idle) continue;
    const wrap = el('div', { class: 'extent', 'data-testid': `mm-${m.name}` }, el('h3', { class: 'mm-title', 'data-key': `mm${m.key.slice(1)}`, text: `mm ${m.name} — page tables` }));
    // (the first MAX_CELLS_PER_EXTENT pages of the mm's VMAs, as the run was recorded: a VMA of
    // a gigabyte or more would be a million cells)
    let n = 0;
    let pages = 0;
    for (const v of m.vmas) {
      pages += v.end - v.start;
      const grid = el('div', { class: 'grid' });
      let g;
      for (let vpn = v.start; vpn < v.end && n < MAX_CELLS_PER_EXTENT; vpn++, n++) {
        if (vpn % nr === 0 || vpn === v.start) g = group(grid, hex(vpn * 4096));
        const file = v.file ? ` (${v.file}[${v.pgoff + vpn - v.start}])` : '';
        g.append(cellEl(`${m.key}:${vpn}`, `${m.name}:${hex(vpn * 4096)}${file}`, `cell-m-${m.name}-${vpn}`));
      }
      wrap.append(el('div', { class: 'vma', text: `VMA ${hex(v.start * 4096)}–${hex(v.end * 4096)}${v.file ? ` → ${v.file} at page ${v.pgoff}` : ' (anonymous)'}` }), grid);
    }
    if (pages > n) wrap.append(el('p', { class: 'idle-note', 'data-testid': `cells-cut-${m.name}`, text: `not shown: ${(pages - n).toLocaleString('en-US')} more pages of ${m.name}'s VMAs — the inspector draws an mm's first ${MAX_CELLS_PER_EXTENT.toLocaleString('en-US')}, as the run was recorded` }));
    box.append(wrap);
  }
  if (idle.length) box.append(el('p', { class: 'idle-note', 'data-testid': 'idle-extents', text: `not shown: ${idle.join(', ')} — no actor of this run uses it, and nothing in it changed` }));
  const first = [...cellEls.keys()];
  selectedPage = first.find((k) => k.startsWith('f')) ?? first[0] ?? null;
  selectedPte = first.find((k) => k.startsWith('m')) ?? null;
}



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

/** The cells at a frame; `v` the violation when the frame is its step's, else null. */
export function showCells(cells, changed, v) {
  const culprit = v ? v.message : null;
  for (const [key, d] of cellEls) {
    const c = cells.get(key) ?? { t: 'absent' };
    const info = describeCell(c, d.dataset.where);
    const named = culprit !== null && c.t !== 'absent' && namedBy(culprit, d.dataset.where, c);
    if (named) info.title += `\nnamed by the violation: ${v.invariant}`;
    d.className = ['cell', ...info.cls, changed.has(key) ? 'changed' : '', named ? 'culprit' : '', key === selectedPage ? 'selected' : '', key === selectedPte ? 'selected-pte' : ''].filter(Boolean).join(' ');
    d.title = info.title;
    d.children[0].textContent = info.label;
    d.children[1].textContent = info.data;
    d.children[2].textContent = info.badges;
  }
}

/**
 * The object charts at a frame: struct page and team head for the selected cell, its pmd,
 * its mm_struct. A chart the page knows no cell field for (one an extension registers) is
 * drawn whole, with nothing marked.
 */
export function showObjects(cells, objectViews) {
  const page = selectedPage && cells.get(selectedPage);
  const none = { caption: {} };
  const mark = (v, paths) => v !== none && highlight(v, paths);
  const pv = objectViews.page ?? none;
  if (page && (page.t === 'page' || page.t === 'pte')) {
    const s = decode(P.decode.page, page.hst ?? page.st);
    mark(pv, Object.entries(s).map(([r, st]) => `${r}.${st}`));
    pv.caption.textContent = `pfn ${hex(page.pfn)}${page.hst !== undefined ? ` (its head ${hex(page.head)})` : ''} — ${cellEls.get(selectedPage).dataset.where}`;
  } else {
    mark(pv, []);
    pv.caption.textContent = selectedPage ? `${cellEls.get(selectedPage).dataset.where}: no page` : '';
  }
  const mv = objectViews.pmd ?? none;
  const pte = selectedPte && cells.get(selectedPte);
  if (pte && pte.t !== 'absent') {
    mark(mv, [`entry.${pte.pmd}`]);
    mv.caption.textContent = `${cellEls.get(selectedPte).dataset.where.replace(/ .*/, '')}'s pmd`;
  } else mark(mv, []);
  const sv = objectViews.mm_struct ?? none;
  const mmKey = selectedPte ? `mm${selectedPte.slice(1, selectedPte.indexOf(':'))}` : R.mms.length ? `mm${R.mms[0].key.slice(1)}` : null;
  const mm = mmKey && cells.get(mmKey);
  if (mm && mm.t === 'mm') {
    mark(sv, Object.entries(decode(P.decode.mm_struct, mm.st)).map(([r, st]) => `${r}.${st}`));
    sv.caption.textContent = R.mms.find((m) => `mm${m.key.slice(1)}` === mmKey)?.name ?? '';
  } else mark(sv, []);
  const tv = objectViews.team_head ?? none;
  if (page && page.tst !== undefined) {
    mark(tv, Object.entries(decode(P.decode.team_head, page.tst)).map(([r, st]) => `${r}.${st}`));
    tv.caption.textContent = `team head ${hex(page.th ?? page.pfn)}`;
  } else {
    mark(tv, []);
    tv.caption.textContent = page && (page.t === 'page' || page.t === 'pte') ? `pfn ${hex(page.pfn)}: no team` : '';
  }
  for (const v of Object.values(objectViews)) if (v.follow()) setViewBox(v, { x: 0, y: 0, w: v.L.width, h: v.L.height });
}

