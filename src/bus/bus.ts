/**
 * The RxJS event bus. One synchronous Subject per run: a publish reaches every
 * subscriber before publish() returns, so a monitor's verdict on a step is in before
 * the scheduler picks the next one.
 */
import { Subject, type Observable, filter } from 'rxjs';
import type { BusEvent } from './events.ts';

export class Bus {
  private readonly subject = new Subject<BusEvent>();
  readonly events$: Observable<BusEvent> = this.subject.asObservable();

  publish(ev: BusEvent): void {
    this.subject.next(ev);
  }

  on<K extends BusEvent['kind']>(kind: K): Observable<Extract<BusEvent, { kind: K }>> {
    return this.events$.pipe(filter((e): e is Extract<BusEvent, { kind: K }> => e.kind === kind));
  }

  complete(): void {
    this.subject.complete();
  }
}
