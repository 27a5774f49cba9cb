/**
 * Why a counterexample broke its invariant: the few steps of the recorded run the
 * violation rests on, and one sentence that tells the race (issue 20, item 2). Computed
 * from the bus events of the run (what each step changed, and the reads a branch was
 * decided by), never from the model's state afterwards.
 *
 * - data-integrity: data provenance — the read that saw the bad value, the step that put
 *   those bytes in the page (wrote, copied, cleared, or allocated it without zeroing),
 *   and the steps that led the reader to that page (the page-cache slot filled with it,
 *   the pte or pmd mapping it).
 * - any other invariant: the objects its message names (a pmd, a page or a team, a lock, a
 *   global such as huge_zero_refcount, a file's page-cache slot, i_size or nrpages) and the
 *   step that last changed each before the violation; for a pmd, also the read of it each
 *   racing actor decided its path on (pmd_read). A check at quiescence (no actor) is told
 *   as what held once nothing could run.
 */
import type { BusEvent, Violation } from '../bus/events.ts';

/** A bus event of the run, at the scheduler step that published it (-1: setup). */
export interface Fact {
  step: number;
  e: BusEvent;
  /** access and data: the page's compound head then; ALLOC: the order allocated and whether it came zeroed. */
  head?: number;
  order?: number;
  zeroed?: boolean;
}

export interface Cause {
  step: number;
  /** Actor index (-1: the model). */
  actor: number;
  /** What the step did, in a few words (the lanes' mark). */
  what: string;
  /** The violating step itself. */
  violation?: boolean;
}

export interface Explanation {
  /** In step order; the violating step last. */
  causes: Cause[];
  /** One sentence: the causes told in order. */
  story: string;
}

export interface ExplainContext {
  actors: readonly string[];
  /** mm names and file names by id. */
  mms: readonly string[];
  files: readonly string[];
  hpagePmdNr: number;
}

const hex = (n: number) => `0x${n.toString(16)}`;
const tokenText = (t: number) => (t === 0 ? 'zeroes' : t === -1 ? 'garbage' : `data #${t}`);

/** What a pmd command does, as a kernel developer says it (machines/pmd.ts). */
const PMD_VERB: Record<string, string> = {
  PMD_POPULATE: 'installed a pte table at',
  SET_PMD_HUGE: 'set a huge pmd at',
  SET_HUGE_ZERO: 'set the huge zero pmd at',
  PMDP_CLEAR: 'cleared the pmd at',
  SPLIT_HUGE_ZERO: 'split the huge zero pmd at',
  SPLIT_HUGE: 'split the huge pmd at',
  COW_HUGE_ZERO: 'replaced the huge zero pmd (COW) at',
  COW_HUGE: 'replaced the huge pmd (COW) at',
  PMD_WRPROTECT: 'write-protected the pmd at',
};

/** What a page command does (machines/page.ts); others by name. */
const PAGE_VERB: Record<string, string> = {
  ALLOC: 'allocated', FREE: 'freed', LOCK: 'locked', UNLOCK: 'unlocked', FREEZE: 'froze (page_ref_freeze)',
  UNFREEZE: 'unfroze', GET: 'took a reference to', PUT: 'dropped a reference to',
};

function lastBefore(facts: readonly Fact[], end: number, test: (f: Fact) => boolean): Fact | undefined {
  for (let i = end - 1; i >= 0; i--) if (test(facts[i]!)) return facts[i];
  return undefined;
}

export function explain(facts: readonly Fact[], v: Violation, ctx: ExplainContext): Explanation | null {
  const vActor = ctx.actors.indexOf(v.actor);
  const found = v.invariant === 'data-integrity' ? provenance(facts, v, vActor, ctx) : namedObjects(facts, v, vActor, ctx);
  const causes = found.causes.filter((c, i, all) => all.findIndex((d) => d.step === c.step && d.actor === c.actor && d.what === c.what) === i);
  causes.sort((a, b) => a.step - b.step || Number(!!a.violation) - Number(!!b.violation));
  const story = causes.map((c) => `${c.actor >= 0 ? `${ctx.actors[c.actor]} ` : ''}${c.what} (step ${c.step})`).join('; ');
  return { causes, story: `${story}: ${v.invariant}.` };
}

/** data-integrity: from the read that saw the wrong value back to where those bytes came from. */
function provenance(facts: readonly Fact[], v: Violation, vActor: number, ctx: ExplainContext): { causes: Cause[] } {
  const upTo = facts.findIndex((f) => f.step > v.step);
  const read = lastBefore(facts, upTo < 0 ? facts.length : upTo, (f) => f.e.kind === 'access' && f.e.actor === vActor);
  const at = read ? facts.indexOf(read) : -1;
  const violating: Cause = { step: v.step, actor: vActor, what: `— ${v.message}`, violation: true };
  if (at < 0) return namedObjects(facts, v, vActor, ctx);
  const r = facts[at]!;
  const e = r.e as Extract<BusEvent, { kind: 'access' }>;
  const where = `${e.mm >= 0 ? `${ctx.mms[e.mm]}:${hex(e.vpn * 4096)}` : ''}${e.ino >= 0 ? `${e.mm >= 0 ? ' (' : ''}${ctx.files[e.ino]}[${e.index}]${e.mm >= 0 ? ')' : ''}` : ''}`;
  const expected = /; (expected .*)$/.exec(v.message);
  if (e.op === 'read' && expected) violating.what = `read ${tokenText(e.token)} at ${where}, ${expected[1]}`;
  const causes: Cause[] = [violating];
  if (e.pfn < 0) return { causes };
  const p = e.pfn;
  const head = r.head ?? p;
  // where the bytes came from: the last write of this page, or its allocation
  const src = lastBefore(facts, at, (f) => {
    const x = f.e;
    if (x.kind === 'data' || (x.kind === 'access' && x.op === 'write')) return x.pfn === p;
    return x.kind === 'page' && x.op === 'ALLOC' && x.pfn <= p && p < x.pfn + (1 << (f.order ?? 0));
  });
  if (src) {
    const x = src.e;
    const page = head !== p ? `subpage ${hex(p)} of ${hex(head)}` : hex(p);
    if (x.kind === 'page') {
      const what = src.zeroed ? `allocated ${hex(x.pfn)} zeroed` : `allocated ${(src.order ?? 0) > 0 ? `huge page ${hex(x.pfn)}` : hex(x.pfn)} without __GFP_ZERO (${page}: ${e.token === -1 ? 'garbage' : 'stale data'})`;
      causes.push({ step: src.step, actor: x.actor, what });
    } else if (x.kind === 'data') {
      const verb = x.op === 'copy' ? 'copied' : x.op === 'clear' ? 'cleared' : 'filled';
      causes.push({ step: src.step, actor: x.actor, what: `${verb} ${tokenText(x.token)} into ${page}` });
    } else if (x.kind === 'access') causes.push({ step: src.step, actor: x.actor, what: `stored ${tokenText(x.token)} into ${page}` });
  }
  // how the reader came to that page: the page-cache slot, then the mapping
  if (e.ino >= 0) {
    const c = lastBefore(facts, at, (f) => f.e.kind === 'cache' && f.e.ino === e.ino && f.e.index === e.index);
    if (c && c.e.kind === 'cache' && c.e.value === p) {
      const slot = `${ctx.files[e.ino]}[${e.index}]`;
      const was = c.e.old === -1 ? `the hole ${slot}` : c.e.old >= 0 ? `${slot} in place of ${hex(c.e.old)}` : `${slot} (was swapped)`;
      causes.push({ step: c.step, actor: c.e.actor, what: `filled ${was} with ${head !== p ? `subpage ${hex(p)} of ${hex(head)}` : hex(p)}` });
    }
  }
  if (e.mm >= 0) {
    const pmd = Math.floor(e.vpn / ctx.hpagePmdNr);
    const m = lastBefore(facts, at, (f) => (f.e.kind === 'pte' && f.e.mm === e.mm && f.e.vpn === e.vpn) || (f.e.kind === 'pmd' && f.e.mm === e.mm && f.e.pmd === pmd));
    if (m && ((m.e.kind === 'pte' && m.e.pfn === p) || (m.e.kind === 'pmd' && m.e.pfn === head))) {
      causes.push({ step: m.step, actor: m.e.actor, what: `mapped ${ctx.mms[e.mm]}:${hex(e.vpn * 4096)} to ${hex(p)} (${m.e.kind === 'pmd' ? 'huge pmd' : 'pte'})` });
    }
  }
  return { causes };
}

/** The objects a violation message names: pmds, pages, globals, locks. */
interface Named {
  pmds: { mm: number; pmd: number; text: string }[];
  pfns: number[];
  globals: string[];
  locks: string[];
  /** A file's page-cache slot ("f: index 5 is in the page cache"). */
  slots: { ino: number; index: number }[];
  /** A file's counters ("f: mapping->nrpages is 5", "beyond i_size"). */
  counters: { ino: number; field: 'nrpages' | 'i_size' }[];
}

function named(facts: readonly Fact[], msg: string, ctx: ExplainContext): Named {
  const pmds: Named['pmds'] = [];
  for (const m of msg.matchAll(/pmd (\S+):(0x[0-9a-f]+)/g)) {
    const mm = ctx.mms.indexOf(m[1]!);
    if (mm >= 0) pmds.push({ mm, pmd: Math.floor(Number(m[2]) / 4096 / ctx.hpagePmdNr), text: `${m[1]}:${m[2]}` });
  }
  const pfns = [...msg.matchAll(/(?:page |pfn=|__free_pages?\(|team )(0x[0-9a-f]+)/g)].map((m) => Number(m[1]));
  const slots: Named['slots'] = [];
  const counters: Named['counters'] = [];
  const file = /^(.+?): /.exec(msg);
  const ino = file ? ctx.files.indexOf(file[1]!) : -1;
  if (ino >= 0) {
    for (const m of msg.matchAll(/\bindex (\d+)\b/g)) slots.push({ ino, index: Number(m[1]) });
    if (/mapping->nrpages/.test(msg)) counters.push({ ino, field: 'nrpages' });
    if (/i_size/.test(msg)) counters.push({ ino, field: 'i_size' });
  }
  const globals = new Set<string>();
  const locks = new Set<string>();
  for (const f of facts) {
    if (f.e.kind === 'atomic' && msg.includes(f.e.variable)) globals.add(f.e.variable);
    if (f.e.kind === 'lock' && msg.includes(f.e.lock)) locks.add(f.e.lock);
  }
  return { pmds, pfns: [...new Set(pfns)], globals: [...globals], locks: [...locks], slots, counters };
}

/** Any other invariant: the last change before the violation of each object the message names. */
function namedObjects(facts: readonly Fact[], v: Violation, vActor: number, ctx: ExplainContext): { causes: Cause[] } {
  // an illegal pmd command names what the step tried on which entry
  const ill = /^pmd (\S+): (\w+) is not allowed in state \[(.*)\]$/.exec(v.message);
  const what = ill && PMD_VERB[ill[2]!] ? `${PMD_VERB[ill[2]!]} ${ill[1]} over the [${ill[3]}] entry` : vActor < 0 ? `once nothing could run: ${v.message}` : `— ${v.message}`;
  const causes: Cause[] = [{ step: v.step, actor: vActor, what, violation: true }];
  const before = facts.findIndex((f) => f.step >= v.step);
  const end = before < 0 ? facts.length : before;
  const n = named(facts, v.message, ctx);
  for (const x of n.pmds) {
    const last = lastBefore(facts, end, (f) => f.e.kind === 'pmd' && f.e.mm === x.mm && f.e.pmd === x.pmd);
    const racers = new Set([vActor]);
    if (last && last.e.kind === 'pmd') {
      causes.push({ step: last.step, actor: last.e.actor, what: `${PMD_VERB[last.e.op] ?? `${last.e.op} on the pmd at`} ${x.text}` });
      racers.add(last.e.actor);
    }
    // the read each racing actor went on from (handle_mm_fault's pmd_none, ...)
    for (const a of racers) {
      const until = a === vActor ? end : facts.indexOf(last!);
      const read = lastBefore(facts, until, (f) => f.e.kind === 'pmd_read' && f.e.actor === a && f.e.mm === x.mm && f.e.pmd === x.pmd);
      if (read && read.e.kind === 'pmd_read') causes.push({ step: read.step, actor: a, what: `saw ${read.e.seen === 'none' ? 'pmd_none' : `a ${read.e.seen} pmd`} at ${x.text}` });
    }
  }
  for (const pfn of n.pfns) {
    const last = lastBefore(facts, end, (f) => (f.e.kind === 'page' || f.e.kind === 'ref') && f.e.pfn === pfn);
    if (last && last.e.kind === 'page') causes.push({ step: last.step, actor: last.e.actor, what: `${PAGE_VERB[last.e.op] ?? `${last.e.op} on`} page ${hex(pfn)} (refcount ${last.e.refcount})` });
    else if (last && last.e.kind === 'ref') causes.push({ step: last.step, actor: last.e.actor, what: `${last.e.op === 'take' ? 'took' : last.e.op === 'drop' ? 'dropped' : 'moved'} a reference to page ${hex(pfn)}` });
  }
  for (const g of n.globals) {
    const last = lastBefore(facts, end, (f) => f.e.kind === 'atomic' && f.e.variable === g);
    if (last && last.e.kind === 'atomic') causes.push({ step: last.step, actor: last.e.actor, what: `${last.e.op}(${g}) ${last.e.old} → ${last.e.value}` });
  }
  for (const x of n.slots) {
    const last = lastBefore(facts, end, (f) => f.e.kind === 'cache' && f.e.ino === x.ino && f.e.index === x.index);
    if (last && last.e.kind === 'cache') {
      const slot = `${ctx.files[x.ino]}[${x.index}]`;
      const entry = (e: number) => (e >= 0 ? hex(e) : e === -1 ? 'a hole' : 'a swap entry');
      causes.push({ step: last.step, actor: last.e.actor, what: `put ${entry(last.e.value)} in ${slot} (was ${entry(last.e.old)})` });
    }
  }
  for (const x of n.counters) {
    const last = lastBefore(facts, end, (f) => f.e.kind === 'inode' && f.e.ino === x.ino && f.e.field === x.field);
    if (last && last.e.kind === 'inode') {
      const what = x.field === 'i_size' ? `set ${ctx.files[x.ino]}'s i_size ${last.e.old} → ${last.e.value} pages` : `made ${ctx.files[x.ino]}'s nrpages ${last.e.old} → ${last.e.value}`;
      causes.push({ step: last.step, actor: last.e.actor, what });
    }
  }
  for (const l of n.locks) {
    const last = lastBefore(facts, end, (f) => f.e.kind === 'lock' && f.e.lock === l);
    if (last && last.e.kind === 'lock') causes.push({ step: last.step, actor: last.e.actor, what: `${last.e.op === 'acquire' ? 'took' : last.e.op === 'release' ? 'released' : 'failed to take'} ${l}` });
  }
  return { causes };
}
