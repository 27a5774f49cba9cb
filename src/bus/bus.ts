/**
 * The RxJS event bus. Synchronous Subjects: a publish reaches every subscriber before
 * publish() returns, so a monitor's verdict on a step is in before the scheduler picks
 * the next one. One Subject per event kind, plus one for everything, so a subscriber
 * pays only for the kinds it watches.
 */
import { Subject, type Observable } from 'rxjs';
import type { BusEvent } from './events.ts';

type Kind = BusEvent['kind'];

export class Bus {
  private readonly all = new Subject<BusEvent>();
  private readonly byKind = new Map<Kind, Subject<BusEvent>>();
  private readonly taps = new Map<Kind, (ev: BusEvent) => void>();
  /** Whether there are any taps (most runs have none: one load, not a Map lookup, per event). */
  private tapped = false;
  /** Every event, of every kind (the tracer, the inspector). */
  readonly events$: Observable<BusEvent> = this.all.asObservable();

  publish(ev: BusEvent): void {
    if (this.tapped) {
      const t = this.taps.get(ev.kind);
      if (t !== undefined) t(ev);
    }
    const s = this.byKind.get(ev.kind);
    if (s !== undefined) s.next(ev);
    if (this.all.observed) this.all.next(ev);
  }

  /** Whether anyone would receive an event of this kind (so callers can skip building it). */
  wants(kind: Kind): boolean {
    return this.all.observed || (this.tapped && this.taps.has(kind)) || (this.byKind.get(kind)?.observed ?? false);
  }

  /**
   * A plain function called with every event of these kinds, before the subscribers: the
   * dfs's record of which state components a step changed (src/explore/components.ts),
   * which sees every event of a search and should not pay for RxJS on each.
   */
  tap(kinds: readonly Kind[], fn: (ev: BusEvent) => void): void {
    for (const kind of kinds) {
      if (this.taps.has(kind)) throw new Error(`the bus already has a tap for '${kind}' events`);
      this.taps.set(kind, fn);
    }
    this.tapped = true;
  }

  /** The events of one kind. */
  on<K extends Kind>(kind: K): Observable<Extract<BusEvent, { kind: K }>> {
    let s = this.byKind.get(kind);
    if (!s) this.byKind.set(kind, (s = new Subject<BusEvent>()));
    return s.asObservable() as Observable<Extract<BusEvent, { kind: K }>>;
  }

  complete(): void {
    this.all.complete();
    for (const s of this.byKind.values()) s.complete();
  }
}
