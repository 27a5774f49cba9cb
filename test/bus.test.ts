import { describe, expect, it } from 'vitest';
import { filter } from 'rxjs';
import { Bus } from '../src/bus/bus.ts';
import type { BusEvent } from '../src/bus/events.ts';

const page = (pfn: number): BusEvent => ({ kind: 'page', op: 'GET', pfn, actor: 0, refcount: 1, mapcount: 0, holder: '' });

describe('the bus: RxJS streams delivered as a Subject would', () => {
  it('delivers to taps, then subscribers in subscription order, then the all-events stream', () => {
    const b = new Bus();
    const seen: string[] = [];
    b.events$.subscribe((e) => seen.push(`all:${e.kind}`));
    b.on('page').subscribe((e) => seen.push(`s1:${e.pfn}`));
    b.on('page').subscribe((e) => seen.push(`s2:${e.pfn}`));
    b.tap(['page'], (e) => seen.push(`tap:${e.kind}`));
    b.publish(page(1));
    b.publish({ kind: 'trace', event: 'mm_khugepaged_scan_pmd', fields: '', actor: 0 });
    expect(seen).toEqual(['tap:page', 's1:1', 's2:1', 'all:page', 'all:trace']);
  });

  it('a subscriber added during a delivery gets the next event, not this one; one removed stops at once', () => {
    const b = new Bus();
    const seen: string[] = [];
    let late = false;
    const first = b.on('page').subscribe((e) => {
      seen.push(`first:${e.pfn}`);
      if (!late) {
        late = true;
        b.on('page').subscribe((x) => seen.push(`late:${x.pfn}`));
      }
    });
    b.publish(page(1));
    b.publish(page(2));
    first.unsubscribe();
    b.publish(page(3));
    expect(seen).toEqual(['first:1', 'first:2', 'late:2', 'late:3']);
  });

  it('a stream composes with RxJS operators, and an unsubscribe from within another subscriber holds from the next event', () => {
    const b = new Bus();
    const seen: number[] = [];
    const sub2 = b.on('page').pipe(filter((e) => e.pfn % 2 === 0)).subscribe((e) => seen.push(e.pfn));
    const sub1 = b.on('page').subscribe((e) => {
      if (e.pfn === 4) sub2.unsubscribe();
    });
    for (let i = 0; i < 6; i++) b.publish(page(i));
    sub1.unsubscribe();
    expect(seen).toEqual([0, 2, 4]);
  });

  it('wants() says whether anyone receives a kind; complete() ends every stream', () => {
    const b = new Bus();
    expect(b.wants('page')).toBe(false);
    let done = 0;
    const s = b.on('page').subscribe({ complete: () => done++ });
    expect(b.wants('page')).toBe(true);
    expect(b.wants('pte')).toBe(false);
    s.unsubscribe();
    expect(b.wants('page')).toBe(false);
    b.on('page').subscribe({ complete: () => done++ });
    b.events$.subscribe({ complete: () => done++ });
    expect(b.wants('pte')).toBe(true);
    b.complete();
    expect(done).toBe(2);
  });
});
