/**
 * Memory per struct page: a Kernel with 262,144 pages allocated through k.pages.alloc,
 * measured as heapUsed + arrayBuffers after global.gc(), from before the Kernel exists
 * to after the allocations. Needs --expose-gc; bench/run.ts spawns
 *   node --expose-gc --import tsx bench/memory.ts [runs]
 * and reads the JSON line this prints.
 */
import { Kernel } from '../src/memory/kernel.ts';
import { PageStore } from '../src/memory/pages.ts';

const PAGES = 262_144;
const HPAGE_PMD_NR = 512;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('bench/memory.ts needs node --expose-gc');
  process.exit(2);
}

function usage(): { heap: number; ab: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, ab: m.arrayBuffers };
}

export interface MemCase {
  name: string;
  describe: string;
  /** null: the default (1024), growing by doubling. */
  capacity: number | null;
  order: number;
}

const CASES: MemCase[] = [
  { name: 'order0', describe: `262,144 order-0 pages, pageCapacity ${PAGES + 1} (ZERO_PAGE + the pages)`, capacity: PAGES + 1, order: 0 },
  { name: 'order9', describe: `512 order-9 pages, pageCapacity ${PAGES + HPAGE_PMD_NR} (+ the alignment gap after ZERO_PAGE)`, capacity: PAGES + HPAGE_PMD_NR, order: 9 },
  { name: 'order0-grow', describe: '262,144 order-0 pages, default pageCapacity (grows by doubling)', capacity: null, order: 0 },
];

interface Sample { bytes: number; heap: number; ab: number; capacity: number; nr: number; ms: number }

function measure(c: MemCase): Sample {
  const before = usage();
  const t0 = performance.now();
  const k = new Kernel({ hpagePmdNr: HPAGE_PMD_NR, ...(c.capacity === null ? {} : { pageCapacity: c.capacity }) });
  const n = PAGES >> c.order;
  for (let i = 0; i < n; i++) k.pages.alloc(c.order, true, -1);
  const ms = performance.now() - t0;
  const after = usage();
  // k stays reachable until here
  const capacity = k.pages.capacity;
  const nr = k.pages.nr;
  return { bytes: after.heap + after.ab - before.heap - before.ab, heap: after.heap - before.heap, ab: after.ab - before.ab, capacity, nr, ms };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const runs = Number(process.argv[2] ?? 5);
const out: Record<string, unknown>[] = [];
for (const c of CASES) {
  measure(c); // warm-up
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) samples.push(measure(c));
  out.push({
    name: c.name,
    describe: c.describe,
    pages: PAGES,
    runs,
    bytes: median(samples.map((s) => s.bytes)),
    heap: median(samples.map((s) => s.heap)),
    arrayBuffers: median(samples.map((s) => s.ab)),
    bytesPerPage: median(samples.map((s) => s.bytes / PAGES)),
    minBytesPerPage: Math.min(...samples.map((s) => s.bytes / PAGES)),
    maxBytesPerPage: Math.max(...samples.map((s) => s.bytes / PAGES)),
    capacity: samples[0]!.capacity,
    nr: samples[0]!.nr,
    allocMs: median(samples.map((s) => s.ms)),
  });
}
console.log(JSON.stringify({
  staticBytesPerPage: PageStore.bytesPerPage(),
  cases: out,
  maxRssKiB: process.resourceUsage().maxRSS,
}));
