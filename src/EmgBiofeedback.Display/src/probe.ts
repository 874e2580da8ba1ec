// Sensor-to-pixel probe of the patient view. Two bounded rings (five minutes at 50 frames/s, 150 s at 100), read by the latency test
// through window.emgDisplayProbe: every activation frame as it arrived (when, and what it said of each muscle), and
// every frame an animation-frame callback drew (when it was written into the bars, and what each bar then showed).
// Times are wall-clock ms (performance.timeOrigin-based). It holds nothing a page would not show anyway and costs a
// small record per frame.
import type { ActivationFrame } from "./gen/emg/v1/live_pb";

export interface ProbeMuscle { label: string; mvc: number; target: number }
export interface ProbeArrival { sequence: number; sampleIndex: number; computedAt: number; arrivedAt: number; muscles: ProbeMuscle[] }
export interface ProbeBar { label: string; kind: string; state: string; value: number }
export interface ProbeDrawn { sequence: number; sampleIndex: number; drawnAt: number; bars: ProbeBar[] }

const CAPACITY = 15000;

class Ring<T> {
  private items: T[] = [];
  private next = 0;
  push(item: T): void {
    if (this.items.length < CAPACITY) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % CAPACITY;
  }
  all(): T[] { return this.items.length < CAPACITY ? this.items.slice() : [...this.items.slice(this.next), ...this.items.slice(0, this.next)]; }
  clear(): void { this.items = []; this.next = 0; }
}

const arrivals = new Ring<ProbeArrival>();
const drawn = new Ring<ProbeDrawn>();
let lastDrawn = -1;

/** Wall-clock ms of a performance.now()-based timestamp. */
export const wallMs = (perfMs: number) => performance.timeOrigin + perfMs;

export function recordArrived(frame: ActivationFrame, arrivedPerfMs: number): void {
  const c = frame.computedAt;
  arrivals.push({
    sequence: Number(frame.sequence),
    sampleIndex: Number(frame.sampleIndex),
    computedAt: c ? Number(c.seconds) * 1000 + c.nanos / 1e6 : NaN,
    arrivedAt: wallMs(arrivedPerfMs),
    muscles: frame.muscles.map((m) => ({ label: m.label, mvc: m.mvcPercent ?? NaN, target: m.target })),
  });
}

/** The bars now hold this frame (the browser paints them when the animation-frame callback returns). */
export function recordDrawn(frame: ActivationFrame, drawnPerfMs: number, bars: ProbeBar[]): void {
  const sequence = Number(frame.sequence);
  if (sequence === lastDrawn) return;
  lastDrawn = sequence;
  drawn.push({ sequence, sampleIndex: Number(frame.sampleIndex), drawnAt: wallMs(drawnPerfMs), bars });
}

declare global {
  interface Window { emgDisplayProbe?: { arrivals(): ProbeArrival[]; drawn(): ProbeDrawn[]; clear(): void } }
}

window.emgDisplayProbe = {
  arrivals: () => arrivals.all(),
  drawn: () => drawn.all(),
  clear: () => { arrivals.clear(); drawn.clear(); },
};
