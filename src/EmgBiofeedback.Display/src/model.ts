// Pure display logic of the patient view: what one bar says, how muscles pair up, the balance of a pair.
// No DOM here, so the rules read in one place.
import { QualityFlag, SourceKind, TargetDirection, TargetState, type MuscleActivation } from "./gen/emg/v1/live_pb";

/** A frame older than this (wall clock, since it arrived) means the board or the stream is gone. */
export const STALE_AFTER_MS = 500;

export type BarKind = "value" | "unreachable" | "no-signal" | "settling" | "electrode-off" | "clipping";

/** Okabe–Ito colours, each with a second, non-colour cue (icon + words). */
export interface StateLook {
  key: "inside" | "above" | "below" | "none";
  colour: string;
  icon: string;
  words: string;
}

export const LOOKS: Record<TargetState, StateLook> = {
  [TargetState.UNSPECIFIED]: { key: "none", colour: "#0072B2", icon: "●", words: "No target" },
  [TargetState.INSIDE]: { key: "inside", colour: "#009E73", icon: "✓", words: "In target zone" },
  [TargetState.ABOVE]: { key: "above", colour: "#D55E00", icon: "▲", words: "Above target" },
  [TargetState.BELOW]: { key: "below", colour: "#56B4E9", icon: "▼", words: "Below target" },
};

export interface BarView {
  kind: BarKind;
  /** Big words on the bar: the value, or what is wrong instead of a value. */
  headline: string;
  /** 0..1 fill of the bar (0 when there is no value to show). */
  fill: number;
  look: StateLook | null;
  /** The target zone as fractions of the bar, when its level is known. */
  zone: { from: number; to: number; level: number } | null;
  unit: "%MVC" | "µV";
  /** The shown quantity unrounded (NaN when there is none). */
  value: number;
}

/** The target the frame's state refers to (MuscleActivation.target_direction / target_level_pct); undefined without one. */
export function targetOf(m: MuscleActivation): { levelPct: number; above: boolean } | undefined {
  return typeof m.targetLevelPct === "number" && (m.targetDirection === TargetDirection.BELOW || m.targetDirection === TargetDirection.ABOVE)
    ? { levelPct: m.targetLevelPct, above: m.targetDirection === TargetDirection.ABOVE }
    : undefined;
}

/** Bar scale: %MVC bars run 0..100 (values above clip at the top); µV bars 0..scaleUv. */
export function describe(m: MuscleActivation | undefined, link: "up" | "unreachable" | "stale", scaleUv: number): BarView {
  const unit = m?.mvcPercent !== undefined ? "%MVC" : "µV";
  const blank = (kind: BarKind, headline: string): BarView => ({ kind, headline, fill: 0, look: null, zone: null, unit, value: NaN });
  if (link === "unreachable") return blank("unreachable", "No connection");
  if (link === "stale" || m === undefined) return blank("no-signal", "No signal");
  if ((m.quality & QualityFlag.FLATLINE) !== 0) return blank("electrode-off", "Electrode off");
  if ((m.quality & QualityFlag.CLIPPING) !== 0) return blank("clipping", "Signal too strong (clipping)");
  if (!m.valid) return blank("settling", "Settling…");
  const calibrated = m.mvcPercent !== undefined;
  const value = calibrated ? m.mvcPercent! : m.rmsMicrovolts;
  const top = calibrated ? 100 : scaleUv;
  const fill = Math.max(0, Math.min(1, value / top));
  const t = calibrated ? targetOf(m) : undefined;
  let zone: BarView["zone"] = null;
  if (t) {
    const level = Math.max(0, Math.min(1, t.levelPct / 100));
    zone = t.above ? { from: level, to: 1, level } : { from: 0, to: level, level };
  }
  const digits = value < 10 ? 1 : 0;
  const headline = `${value.toFixed(digits)} ${calibrated ? "%MVC" : "µV"}`;
  return { kind: "value", headline, fill, look: LOOKS[m.target] ?? LOOKS[TargetState.UNSPECIFIED], zone, unit, value };
}

export interface MuscleGroup {
  name: string;
  left?: string;
  right?: string;
  single?: string;
}

/** "SCM L" + "SCM R" → one group with left and right; anything else stands alone, in frame order. */
export function groupMuscles(labels: string[]): MuscleGroup[] {
  const groups: MuscleGroup[] = [];
  const byName = new Map<string, MuscleGroup>();
  for (const label of labels) {
    const m = /^(.*\S)[\s_-]+([LR])$/i.exec(label);
    if (!m) {
      groups.push({ name: label, single: label });
      continue;
    }
    const name = m[1];
    let g = byName.get(name);
    if (!g) {
      g = { name };
      byName.set(name, g);
      groups.push(g);
    }
    if (m[2].toUpperCase() === "L" && !g.left) g.left = label;
    else if (m[2].toUpperCase() === "R" && !g.right) g.right = label;
    else groups.push({ name: label, single: label });
  }
  // A side without its partner is shown alone.
  return groups.map((g) => (g.single || (g.left && g.right) ? g : { name: (g.left ?? g.right)!, single: g.left ?? g.right }));
}

export interface Balance {
  /** Left's share, 0..1. */
  leftShare: number;
  basis: "%MVC" | "µV";
  text: string;
}

/** Left/right balance from %MVC when both sides are calibrated, else from raw µV (said so: placement confounds it). */
export function balance(left: MuscleActivation | undefined, right: MuscleActivation | undefined): Balance | null {
  if (!left || !right || !left.valid || !right.valid) return null;
  if (((left.quality | right.quality) & (QualityFlag.FLATLINE | QualityFlag.CLIPPING)) !== 0) return null;
  const calibrated = left.mvcPercent !== undefined && right.mvcPercent !== undefined;
  const l = calibrated ? left.mvcPercent! : left.rmsMicrovolts;
  const r = calibrated ? right.mvcPercent! : right.rmsMicrovolts;
  const sum = Math.max(0, l) + Math.max(0, r);
  if (sum <= 0) return null;
  const leftShare = Math.max(0, l) / sum;
  const lp = Math.round(leftShare * 100);
  const basis = calibrated ? "%MVC" : "µV";
  const note = calibrated ? "" : " (raw µV, not calibrated: electrode placement affects it)";
  return { leftShare, basis, text: `Left ${lp} % · Right ${100 - lp} %${note}` };
}

export function sourceBanner(kind: SourceKind | undefined): string | null {
  if (kind === SourceKind.SIMULATED_BOARD) return "Simulated board — not a patient's signal";
  if (kind === SourceKind.REPLAY) return "Replay of a recording — not live";
  return null;
}

/** Retry delay after n consecutive failures: 250 ms doubling to 4 s. */
export function backoffMs(failures: number): number {
  return Math.min(4000, 250 * 2 ** Math.max(0, failures - 1));
}

// ---- shared with the clinician view ----

export type Light = "good" | "warn" | "bad" | "none";

export interface QualityView {
  light: Light;
  colour: string;
  icon: string;
  /** The reasons in words, most serious first ("Good" when there is none). */
  words: string;
}

/** Okabe–Ito traffic light, each with an icon and words (never colour alone). */
const LIGHT_LOOK: Record<Light, { colour: string; icon: string }> = {
  good: { colour: "#009E73", icon: "●" },
  warn: { colour: "#E69F00", icon: "▲" },
  bad: { colour: "#D55E00", icon: "✕" },
  none: { colour: "#767676", icon: "○" },
};

/** One electrode's quality as a traffic light with its reasons: flat line, clipping, mains, noisy baseline, settling. */
export function qualityOf(m: MuscleActivation | undefined, live: boolean): QualityView {
  const look = (light: Light, words: string): QualityView => ({ light, words, ...LIGHT_LOOK[light] });
  if (!live || m === undefined) return look("none", "No signal");
  const bad: string[] = [];
  const warn: string[] = [];
  if ((m.quality & QualityFlag.FLATLINE) !== 0) bad.push("Flat line: electrode off");
  if ((m.quality & QualityFlag.CLIPPING) !== 0) bad.push("Clipping: signal hits the ADC rail");
  if ((m.quality & QualityFlag.MAINS) !== 0) warn.push("Mains hum");
  if ((m.quality & QualityFlag.NOISY_BASELINE) !== 0) warn.push("Noisy baseline");
  if (!m.valid) warn.push("Settling: filters restarting");
  if (bad.length > 0) return look("bad", [...bad, ...warn].join("; "));
  if (warn.length > 0) return look("warn", warn.join("; "));
  return look("good", "Good signal");
}

/** "SCM L" → "SCM L"; a channel without a label → "Channel n". */
export function channelName(channel: number, label: string | undefined): string {
  return label && label.length > 0 ? label : `Channel ${channel + 1}`;
}

/** A fixed-length ring of the last `capacity` values, read oldest first (for traces). */
export class Ring {
  private readonly data: Float64Array;
  private start = 0;
  length = 0;
  constructor(readonly capacity: number) { this.data = new Float64Array(capacity); }
  push(v: number): void {
    if (this.length < this.capacity) { this.data[(this.start + this.length) % this.capacity] = v; this.length++; }
    else { this.data[this.start] = v; this.start = (this.start + 1) % this.capacity; }
  }
  clear(): void { this.start = 0; this.length = 0; }
  toArray(): number[] {
    const out = new Array<number>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.data[(this.start + i) % this.capacity];
    return out;
  }
}

/** Key figures of a summary_json (schema emg-session-summary/1) for the clinician: one line each. */
export interface SummaryFigure { name: string; value: string }

type PerMuscle = Record<string, { mean_pct_mvc?: number | null; peak_pct_mvc?: number | null; time_in_target?: number | null }>;
interface SummaryJson {
  schema?: string;
  calibration?: Record<string, { rest_uv?: number; mvc_uv?: number }>;
  trials?: { n: number; work?: PerMuscle; rest?: PerMuscle }[];
  markers?: { label: string; time_s?: number; effect?: Record<string, { change?: number | null }> }[];
  baseline?: { pre?: PerMuscle; post?: PerMuscle };
}

const fmt = (v: number | null | undefined, digits = 1) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "—");
const mean = (xs: number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

export function summaryFigures(json: string): SummaryFigure[] {
  if (!json) return [{ name: "Clinical summary", value: "none (the session had no signal)" }];
  let s: SummaryJson;
  try { s = JSON.parse(json) as SummaryJson; } catch { return [{ name: "Clinical summary", value: "unreadable" }]; }
  const out: SummaryFigure[] = [];
  const trials = s.trials ?? [];
  out.push({ name: "Trials", value: String(trials.length) });
  const calibrated = Object.keys(s.calibration ?? {});
  out.push({ name: "Calibrated muscles", value: calibrated.length > 0 ? calibrated.join(", ") : "none" });
  const labels = new Set<string>();
  for (const t of trials) for (const l of Object.keys(t.work ?? {})) labels.add(l);
  for (const l of labels) {
    const work = mean(trials.map((t) => t.work?.[l]?.mean_pct_mvc).filter((v): v is number => typeof v === "number"));
    const rest = mean(trials.map((t) => t.rest?.[l]?.mean_pct_mvc).filter((v): v is number => typeof v === "number"));
    const tit = mean(trials.map((t) => t.work?.[l]?.time_in_target).filter((v): v is number => typeof v === "number"));
    out.push({ name: `${l}: mean %MVC work / rest`, value: `${fmt(work)} / ${fmt(rest)}${Number.isNaN(tit) ? "" : ` · in target ${fmt(tit * 100, 0)} %`}` });
  }
  for (const m of s.markers ?? []) {
    const effects = Object.entries(m.effect ?? {}).map(([l, e]) => `${l} ${typeof e.change === "number" ? `${e.change > 0 ? "+" : ""}${fmt(e.change * 100, 0)} %` : "—"}`);
    out.push({ name: `Marker “${m.label}” at ${fmt(m.time_s)} s`, value: effects.length > 0 ? effects.join(", ") : "no effect computed" });
  }
  return out;
}
