/**
 * The RxJS event bus. Synchronous Subjects: a publish reaches every subscriber before
 * publish() returns, so a monitor's verdict on a step is in before the scheduler picks
 * the next one. One Subject per event kind, plus one for everything, so a subscriber
 * pays only for the kinds it watches.
 */
import { Subject, type Observable } from 'rxjs';
import type { BusEvent } from './events.ts';

type Kind = BusEvent['kind'];

/** Who receives one kind of event: its taps, then its Subject's subscribers (one lookup a publish). */
interface Channel {
  readonly taps: ((ev: BusEvent) => void)[];
  subject: Subject<BusEvent> | null;
}

export class Bus {
  private readonly all = new Subject<BusEvent>();
  private readonly channels = new Map<Kind, Channel>();
  /** Every event, of every kind (the tracer, the inspector). */
  readonly events$: Observable<BusEvent> = this.all.asObservable();

  /**
   * While a step's footprint is recorded: the recorder, paused around each delivery — what
   * a subscriber (a monitor) reads or writes is not the step's (src/world/footprint.ts).
   */
  observing: { tracking: boolean } | null = null;

  publish(ev: BusEvent): void {
    const rec = this.observing;
    // (an event a subscriber publishes is delivered within the outer one: tracking stays off)
    const was = rec !== null && rec.tracking;
    if (rec !== null) rec.tracking = false;
    const c = this.channels.get(ev.kind);
    if (c !== undefined) {
      const taps = c.taps;
      for (let i = 0; i < taps.length; i++) taps[i]!(ev);
      if (c.subject !== null) c.subject.next(ev);
    }
    if (this.all.observed) this.all.next(ev);
    if (rec !== null) rec.tracking = was;
  }

  /** Whether anyone would receive an event of this kind (so callers can skip building it). */
  wants(kind: Kind): boolean {
    if (this.all.observed) return true;
    const c = this.channels.get(kind);
    return c !== undefined && (c.taps.length > 0 || (c.subject?.observed ?? false));
  }

  private channel(kind: Kind): Channel {
    let c = this.channels.get(kind);
    if (!c) this.channels.set(kind, (c = { taps: [], subject: null }));
    return c;
  }

  /**
   * A plain function called with every event of these kinds, before the subscribers, in the
   * order tapped: for the few that see nearly every event and should not pay for RxJS on
   * each — the dfs's record of which state components a step changed
   * (src/world/components.ts), the lock-order monitor (every lock taken and released).
   */
  tap(kinds: readonly Kind[], fn: (ev: BusEvent) => void): void {
    for (const kind of kinds) this.channel(kind).taps.push(fn);
  }

  /** The events of one kind. */
  on<K extends Kind>(kind: K): Observable<Extract<BusEvent, { kind: K }>> {
    const c = this.channel(kind);
    c.subject ??= new Subject<BusEvent>();
    return c.subject.asObservable() as Observable<Extract<BusEvent, { kind: K }>>;
  }

  complete(): void {
    this.all.complete();
    for (const c of this.channels.values()) c.subject?.complete();
  }
}
